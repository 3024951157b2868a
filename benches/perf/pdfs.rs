//! The PDF figures: every issued invoice rendered, against ReportLab as a peer baseline.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;

use supportbill::documents::model::InvoiceDocument;
use supportbill::documents::pdf;
use supportbill::service::invoices;
use supportbill::storage::models::Invoice;
use supportbill::storage::schema::invoices as invoices_t;
use supportbill::storage::{DbConnection, Pool};

use crate::*;

/// PDF renders: one page and 200 lines on one thread, all of the run on every core, and
/// ReportLab on the same one-page invoice.
pub(crate) fn pdfs(args: &Args, conn: &mut DbConnection, pool: &Pool, ids: &[i64], report: &mut Report) {
    let docs: Vec<InvoiceDocument> = ids
        .iter()
        .map(|&id| {
            let row: Invoice = invoices_t::table.find(id).select(Invoice::as_select()).first(conn).expect("invoice");
            invoices::document(conn, &row).expect("document")
        })
        .collect();
    let _ = pool;
    let one_page = docs.iter().find(|d| (4..=6).contains(&d.lines.len())).or(docs.first()).expect("an invoice").clone();
    let mut long = one_page.clone();
    while long.lines.len() < 200 {
        let line = one_page.lines[long.lines.len() % one_page.lines.len()].clone();
        long.lines.push(line);
    }
    let timed = |doc: &InvoiceDocument, min: Duration| -> (f64, usize) {
        let t = Instant::now();
        let mut n = 0;
        let mut bytes = 0;
        while t.elapsed() < min || n < 3 {
            bytes = pdf::invoice_pdf(doc, pdf::Paper::A4).expect("pdf").len();
            n += 1;
        }
        (per_sec(n, t.elapsed()), bytes)
    };
    let min = if args.wrk_seconds <= 1 { Duration::from_millis(300) } else { Duration::from_secs(3) };
    let (one_rate, one_bytes) = timed(&one_page, min);
    let (long_rate, long_bytes) = timed(&long, min);
    let reportlab = reportlab(&one_page, min);
    let (base, ratio) = match reportlab {
        Some(r) => (format!("ReportLab {r:.0}/s"), format!("{:.2}x", one_rate / r)),
        None => ("ReportLab SKIPPED (pip install reportlab)".into(), "-".into()),
    };
    report.add(
        "-",
        &format!("PDF one page ({} lines), 1 thread", one_page.lines.len()),
        format!("{one_rate:.0}/s, {} KB", one_bytes / 1024),
        base,
        ratio,
        ">= 3x ReportLab, < 50 KB",
    );
    report.add(
        "-",
        "PDF 200 lines, 1 thread",
        format!("{long_rate:.0}/s, {} KB", long_bytes / 1024),
        "-".into(),
        "-".into(),
        "-",
    );
    if args.pdf_all {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let t = Instant::now();
        std::thread::scope(|s| {
            for part in docs.chunks(docs.len().div_ceil(threads)) {
                s.spawn(move || {
                    for d in part {
                        pdf::invoice_pdf(d, pdf::Paper::A4).expect("pdf");
                    }
                });
            }
        });
        let all = t.elapsed();
        report.add(
            "-",
            &format!("PDF all {} invoices of the run, {threads} threads", docs.len()),
            format!("{:.1} s, {:.0}/s", all.as_secs_f64(), per_sec(docs.len(), all)),
            format!("1 thread one page {one_rate:.0}/s"),
            format!("{:.2}x", per_sec(docs.len(), all) / one_rate),
            "-",
        );
    }
}

/// Renders the invoice with `benches/reportlab_invoice.py` for `min`; renders per second.
fn reportlab(doc: &InvoiceDocument, min: Duration) -> Option<f64> {
    let dir = tempdir();
    let json = dir.join("invoice.json");
    std::fs::write(&json, serde_json::to_vec(doc).expect("json")).ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reportlab_invoice.py");
    let out = Command::new("python3").arg(script).arg(&json).arg(format!("{:.1}", min.as_secs_f64())).output().ok()?;
    if !out.status.success() {
        eprintln!("ReportLab baseline not run: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).split_whitespace().next()?.parse().ok()
}
