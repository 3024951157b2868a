#!/usr/bin/env python3
"""The PDF peer baseline of the benchmarks: ReportLab renders the same one-page invoice.

Usage: reportlab_invoice.py INVOICE.json SECONDS [OUT.pdf]
Prints the renders per second on one thread (the first word of stdout). The layout follows
supportbill's own invoice: partner and customer blocks, the lines table, totals and the
support terms, in DejaVu Sans embedded (subset) as supportbill does.
"""
import io
import json
import os
import sys
import time

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "fonts")
pdfmetrics.registerFont(TTFont("DejaVu", os.path.join(FONTS, "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont("DejaVu-Bold", os.path.join(FONTS, "DejaVuSans-Bold.ttf")))


def render(doc):
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    width, height = A4
    y = height - 20 * mm
    c.setFont("DejaVu-Bold", 16)
    c.drawString(20 * mm, y, "Invoice " + (doc.get("number") or "DRAFT"))
    c.setFont("DejaVu", 9)
    p = doc["partner"]
    for i, line in enumerate([p["name"], p["address"], "VAT ID " + p["tax_id"]]):
        c.drawRightString(width - 20 * mm, y - i * 11, line)
    y -= 40
    cu = doc["customer"]
    for line in [cu["name"], cu["billing_address"], cu["email"], "VAT ID " + cu["tax_id"]]:
        c.drawString(20 * mm, y, line)
        y -= 11
    y -= 6
    c.drawString(20 * mm, y, "Period %s to %s   Issued %s   Due %s" % (doc["period_start"], doc["period_end"], doc.get("issued_at") or "", doc.get("due_date") or ""))
    y -= 20
    c.setFont("DejaVu-Bold", 8.5)
    cols = [20 * mm, 105 * mm, 130 * mm, 160 * mm]
    for x, title in zip(cols, ["Description", "Quantity", "Unit price", "Amount"]):
        c.drawString(x, y, title)
    y -= 4
    c.line(20 * mm, y, width - 20 * mm, y)
    y -= 11
    c.setFont("DejaVu", 8.5)
    for l in doc["lines"]:
        c.drawString(cols[0], y, l["description"][:60])
        c.drawRightString(cols[1] + 18 * mm, y, l["quantity"])
        c.drawRightString(cols[2] + 22 * mm, y, l["unit_price"])
        c.drawRightString(width - 20 * mm, y, l["amount"] + " " + doc["currency"])
        y -= 13
    y -= 6
    c.line(120 * mm, y + 8, width - 20 * mm, y + 8)
    for label, value in [("Subtotal", doc["subtotal"]), ("VAT %s %%" % doc["tax_rate_percent"], doc["tax"]), ("Total", doc["total"])]:
        c.drawString(120 * mm, y, label)
        c.drawRightString(width - 20 * mm, y, value + " " + doc["currency"])
        y -= 12
    y -= 12
    c.setFont("DejaVu-Bold", 9)
    c.drawString(20 * mm, y, "Support terms")
    y -= 12
    c.setFont("DejaVu", 8)
    for t in doc.get("support_terms", []):
        c.drawString(20 * mm, y, t["plan_name"])
        y -= 10
        c.drawString(20 * mm, y, t["scope"][:110])
        y -= 10
        for m in t.get("contact_methods", []):
            c.drawString(24 * mm, y, "%s: %s" % (m["kind"], m["value"]))
            y -= 10
    c.setFont("DejaVu", 7.5)
    c.drawString(20 * mm, 12 * mm, "Payment within %d days." % p["payment_terms_days"])
    c.showPage()
    c.save()
    return buf.getvalue()


def main():
    doc = json.load(open(sys.argv[1]))
    seconds = float(sys.argv[2])
    n = 0
    start = time.perf_counter()
    while True:
        pdf = render(doc)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            break
    if len(sys.argv) > 3:
        open(sys.argv[3], "wb").write(pdf)
    print("%.1f renders/s, %d bytes" % (n / elapsed, len(pdf)))


if __name__ == "__main__":
    main()
