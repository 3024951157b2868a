//! HTML building blocks: escaping (every interpolated value goes through [`esc`] or [`E`]),
//! query strings for links, the page layout, and small formatters for dates and numbers.

use std::fmt::{self, Display, Write as _};

use chrono::{Months, NaiveDate};

use crate::domain::vocab::InvoiceStatus;
use crate::web::visitor::{Visitor, CSRF_FIELD};

/// Escapes text for HTML element content and (double- or single-quoted) attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Displays any value HTML-escaped: `format!("<td>{}</td>", E(&name))`.
pub struct E<T: Display>(pub T);

impl<T: Display> Display for E<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&esc(&self.0.to_string()))
    }
}

/// Percent-encodes a query-string component (RFC 3986 unreserved characters pass).
pub fn urlenc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `path?k=v&...` with the empty values left out; the result still needs [`esc`] in HTML.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> =
        params.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{}={}", urlenc(k), urlenc(v))).collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Which navigation item is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Invoices,
    Usage,
    Plans,
}

/// A notice shown at the top of a page.
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

#[derive(Clone, Copy)]
pub enum NoticeKind {
    Info,
    Success,
    Error,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice { kind: NoticeKind::Info, text: text.into() }
    }
    pub fn success(text: impl Into<String>) -> Notice {
        Notice { kind: NoticeKind::Success, text: text.into() }
    }
    pub fn error(text: impl Into<String>) -> Notice {
        Notice { kind: NoticeKind::Error, text: text.into() }
    }

    pub fn render(&self) -> String {
        let (class, role) = match self.kind {
            NoticeKind::Info => ("notice info", "status"),
            NoticeKind::Success => ("notice success", "status"),
            NoticeKind::Error => ("notice error", "alert"),
        };
        format!("<div class=\"{class}\" role=\"{role}\">{}</div>\n", E(&self.text))
    }
}

/// The whole page. `body` is trusted markup built with escaping; `title` is escaped here.
/// The hidden form field that carries the CSRF token.
pub fn hidden_csrf(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">", E(token))
}

pub fn layout(title: &str, caller: Option<&Visitor>, nav: Nav, notices: &[Notice], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{} · supportbill</title>", E(title));
    out.push_str("<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n");
    out.push_str("<link rel=\"stylesheet\" href=\"/assets/app.css\">\n");
    out.push_str("<script src=\"/assets/app.js\" defer></script>\n</head>\n<body>\n");
    out.push_str("<header class=\"top\"><div class=\"wrap\">\n");
    out.push_str("<a class=\"brand\" href=\"/\">supportbill <span>finance</span></a>\n");
    if let Some(caller) = caller {
        let item = |href: &str, label: &str, me: Nav| {
            let current = if nav == me { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"{}\"{current}>{}</a>", E(href), E(label))
        };
        // Plans are the partner's own business: not shown to client keys.
        let plans = if caller.is_client() { String::new() } else { item("/plans", "Plans", Nav::Plans) };
        let _ = writeln!(
            out,
            "<nav>{}{}{plans}</nav>",
            item("/invoices", "Invoices", Nav::Invoices),
            item("/usage", "Usage", Nav::Usage)
        );
        let who = match caller.customer_id {
            Some(c) => format!("{} key #{} (customer #{})", caller.role.as_str(), caller.key_id, c),
            None => format!("{} key #{}", caller.role.as_str(), caller.key_id),
        };
        let _ = writeln!(
            out,
            "<form class=\"signout\" method=\"post\" action=\"/logout\">{}<span class=\"who\">{}</span> \
             <button type=\"submit\" class=\"link\">Sign out</button></form>",
            hidden_csrf(&caller.csrf_token),
            E(who)
        );
    }
    out.push_str("</div></header>\n<main class=\"wrap\">\n");
    for n in notices {
        out.push_str(&n.render());
    }
    out.push_str(body);
    out.push_str(
        "</main>\n<footer class=\"wrap\">supportbill · support time billing for Microsoft CSP partners</footer>\n",
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// `2025-01-01` as `Jan 2025`.
pub fn month_label(d: NaiveDate) -> String {
    d.format("%b %Y").to_string()
}

/// An invoice period `[start, end)` as `Jan 2025` or `Jan 2025 – Mar 2025`.
pub fn period_label(start: &str, end: &str) -> String {
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    match (parse(start), parse(end)) {
        (Some(s), Some(e)) => {
            let last = e.checked_sub_months(Months::new(1)).unwrap_or(e);
            if last <= s {
                month_label(s)
            } else {
                format!("{} – {}", month_label(s), month_label(last))
            }
        }
        _ => format!("{start} – {end}"),
    }
}

/// The date part of an RFC 3339 timestamp.
pub fn date_part(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

/// Thousands separators for a decimal string: `1234567.50` -> `1,234,567.50`.
pub fn group_digits(amount: &str) -> String {
    let (sign, rest) = match amount.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", amount),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return amount.to_string();
    }
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A status badge, styled by the status (the stylesheet has a class for each).
pub fn status_badge(status: InvoiceStatus) -> String {
    format!("<span class=\"badge {status}\">{}</span>", E(status))
}

/// A `<select>` of `(value, label)` options with `selected` chosen.
pub fn select(name: &str, id: &str, options: &[(String, String)], selected: &str) -> String {
    let mut out = format!("<select name=\"{}\" id=\"{}\">", E(name), E(id));
    for (value, label) in options {
        let sel = if value == selected { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", E(value), E(label));
    }
    out.push_str("</select>");
    out
}
