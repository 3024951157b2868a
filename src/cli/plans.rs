//! `supportbill plan`: a plan's versions from the command line (SPEC 7.2), through the same
//! services and checks as `GET` and `POST /plans/{id}/versions`, printed as the API's JSON.

use std::path::PathBuf;

use chrono::NaiveDateTime;
use clap::Subcommand;

use crate::http::routes::plans::VersionOut;
use crate::service::plan_terms::VersionInput;
use crate::service::{plan_versions, plans};
use crate::storage::{self, DatabaseUrl};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Print a plan's versions, oldest first, as JSON.
    Versions {
        #[arg(long)]
        plan: i64,
    },
    /// Plan versions: `version add`.
    Version {
        #[command(subcommand)]
        what: VersionCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Add a version: the terms from a JSON file (the body of `POST /plans/{id}/versions`,
    /// without `effective_from`), in force from `--effective-from`. Prints the new version.
    Add {
        #[arg(long)]
        plan: i64,
        /// YYYY-MM-DD.
        #[arg(long)]
        effective_from: String,
        /// The terms as JSON (`-` for stdin).
        #[arg(long)]
        file: PathBuf,
    },
}

pub fn run(url: &DatabaseUrl, command: PlanCommand, now: NaiveDateTime) -> Result<(), String> {
    let pool = storage::connect(url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    match command {
        PlanCommand::Versions { plan } => {
            let plan = plans::plan_row(&mut conn, plan).map_err(super::describe)?;
            let rows = plan_versions::of_plans(&mut conn, &[plan.id]).map_err(super::describe)?.remove(&plan.id);
            let out: Vec<VersionOut> =
                rows.unwrap_or_default().into_iter().map(|r| VersionOut::new(r, plan.currency)).collect();
            print_json(&out)
        }
        PlanCommand::Version { what: VersionCommand::Add { plan, effective_from, file } } => {
            let input = read_terms(&file, &effective_from)?;
            let mut currency = None;
            let row = plan_versions::add(
                &mut conn,
                plan,
                |p| {
                    currency = Some(p.currency);
                    Ok(input.validate(p)?)
                },
                now,
            )
            .map_err(super::describe)?;
            let currency = currency.ok_or("no plan was read")?;
            print_json(&VersionOut::new(row, currency))
        }
    }
}

/// The file's terms with `effective_from` set from the command line.
fn read_terms(file: &PathBuf, effective_from: &str) -> Result<VersionInput, String> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?
    };
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let Some(object) = json.as_object_mut() else {
        return Err(format!("{}: the terms must be a JSON object", file.display()));
    };
    if object.contains_key("effective_from") {
        return Err(format!("{}: give the date with --effective-from, not in the file", file.display()));
    }
    object.insert("effective_from".into(), serde_json::Value::String(effective_from.to_string()));
    serde_json::from_value(json).map_err(|e| format!("{}: {e}", file.display()))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
