//! Download file names (issue 24, item 3): the invoice prefix takes letters, digits, `-` and `_`
//! only, and every `Content-Disposition` carries a safe base name, even when the database holds
//! a prefix from before that rule.

use diesel::prelude::*;
use serde_json::json;

use crate::fixtures::*;
use crate::harness::*;
use crate::web_sessions::sign_in;
use supportbill::storage::schema::partner;

fn partner_with(prefix: &str) -> serde_json::Value {
    json!({"name": "Fabrikam GmbH", "address": "Hauptstr. 1, 10115 Berlin", "country": "DE",
           "tax_id": "DE987654321", "invoice_prefix": prefix, "payment_terms_days": 30})
}

/// The `filename` of an attachment, after checking the header's shape (RFC 6266).
fn attachment_name(r: &Resp) -> String {
    let value = r.header("content-disposition").unwrap_or_else(|| panic!("no Content-Disposition: {r:?}"));
    let name = value
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not `attachment; filename=\"...\"`: {value}"));
    let (stem, ext) = name.rsplit_once('.').unwrap_or_else(|| panic!("no extension: {name}"));
    assert!(
        !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "unsafe file name {name:?}"
    );
    assert!(ext.chars().all(|c| c.is_ascii_alphanumeric()), "unsafe extension in {name:?}");
    name.to_string()
}

both_backends!(invoice_prefix_takes_letters_digits_dash_and_underscore, |app| {
    for bad in ["../../.bashrc/", "INV/2026/", "INV.", "a b", "RÉ-", "INV\\", "x\"y", &"A".repeat(21)] {
        let r = app.put_json("/api/v1/partner", &partner_with(bad)).await;
        assert_problem(&r, 422, "invalid_input");
        assert_eq!(r.error_fields(), vec!["invoice_prefix"], "prefix {bad:?}: {}", r.text);
    }
    for good in ["", "INV-", "RE_2026-", &"A".repeat(20)] {
        let r = app.put_json("/api/v1/partner", &partner_with(good)).await.expect(200);
        assert_eq!(r.body["invoice_prefix"], json!(good));
    }
});

both_backends!(downloads_carry_a_safe_name_whatever_the_database_holds, |app| {
    app.put_json("/api/v1/partner", &partner_with("INV-")).await.expect(200);
    // An old database may hold a prefix from before the rule: written directly, as it would be.
    {
        let mut conn = app.conn();
        diesel::update(partner::table)
            .set(partner::invoice_prefix.eq("../../.bashrc/"))
            .execute(&mut *conn)
            .expect("write the old prefix");
    }
    let (customer, _, sub) = billing_setup(app).await;
    app.post_json("/api/v1/time-entries", &entry(sub, 50)).await.expect(201);
    let draft = app
        .post_json(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "period_start": "2026-10-01", "period_end": "2026-11-01"}),
        )
        .await
        .expect(201);
    let id = draft.id();
    let issued = app.post_json(&format!("/api/v1/invoices/{id}/issue"), &json!({})).await.expect(200);
    assert_eq!(issued.body["number"], json!("../../.bashrc/000001"), "the number keeps what is stored");

    for (path, expected) in [
        (format!("/api/v1/invoices/{id}.csv"), "bashrc_000001.csv"),
        (format!("/api/v1/invoices/{id}.pdf"), "bashrc_000001.pdf"),
        (format!("/api/v1/invoices/{id}.xml"), "bashrc_000001.xml"),
    ] {
        let r = app.get(&path).await.expect(200);
        assert_eq!(attachment_name(&r), expected, "GET {path}");
    }
    let credit =
        app.post_json(&format!("/api/v1/invoices/{id}/credit-notes"), &json!({"reason": "goodwill"})).await.expect(201);
    let cn = credit.id();
    for ext in ["csv", "pdf", "xml"] {
        let r = app.get(&format!("/api/v1/credit-notes/{cn}.{ext}")).await.expect(200);
        assert_eq!(attachment_name(&r), format!("CN-000001.{ext}"));
    }
    for path in [
        "/api/v1/reports/usage?from=2026-10-01&to=2026-11-01&format=csv",
        "/api/v1/reports/invoices?from=2026-01-01&to=2030-01-01&format=pdf",
    ] {
        attachment_name(&app.get(path).await.expect(200));
    }

    // The finance page's downloads.
    let session = sign_in(app, &app.admin_token).await;
    for ext in ["csv", "pdf"] {
        let r = session.get(app, &format!("/invoices/{id}/download.{ext}")).await.expect(200);
        assert_eq!(attachment_name(&r), format!("bashrc_000001.{ext}"), "finance page {ext}");
        let r = session.get(app, &format!("/credit-notes/{cn}/download.{ext}")).await.expect(200);
        assert_eq!(attachment_name(&r), format!("CN-000001.{ext}"));
    }
    let r = session.get(app, "/usage/download.csv?from=2026-10-01&to=2026-11-01&group_by=agent").await.expect(200);
    attachment_name(&r);
});
