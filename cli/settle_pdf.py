"""A settlement report as PDF (fpdf2): the same sections, tables and plots as its HTML page.

Polish letters need a Unicode font, so the PDF embeds DejaVu Sans from
matplotlib's own data (no font needs installing). The creation date is the
report's ``created`` (the end of the settled period), never the clock, so the
same report always gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from fpdf import FPDF, FontFace

if TYPE_CHECKING:
    from cli.settle_document import Report, Table

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_FONT = "DejaVuSans"
_BODY_PT = 9
_LINE_MM = 4.6


class _ReportPdf(FPDF):
    """An A4 page with the report's title and the page number at the foot of each page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, "", 7)
        self.set_text_color(110)
        self.cell(0, 6, f"{self._footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _column_widths(table: Table) -> tuple[float, ...]:
    """Relative widths: the first column widest, other text columns wide, numbers narrow."""
    return tuple(
        3.2 if column == 0 else 1.3 if numeric else 1.8
        for column, numeric in enumerate(table.numeric)
    )


def _write_table(pdf: FPDF, table: Table) -> None:
    size = _BODY_PT - 1 if len(table.headers) <= 5 else 6
    pdf.set_font(_FONT, "", size)
    align = tuple("RIGHT" if numeric else "LEFT" for numeric in table.numeric)
    bold = FontFace(emphasis="BOLD", fill_color=(238, 238, 238))
    with pdf.table(
        col_widths=_column_widths(table),
        text_align=align,
        headings_style=bold,
        line_height=size * 0.5,
        padding=1,
    ) as grid:
        grid.row(table.headers)
        for row in table.rows:
            grid.row(row)
        if table.total is not None:
            grid.row(table.total, style=FontFace(emphasis="BOLD"))
    pdf.ln(3)


def report_pdf(report: Report) -> bytes:
    """The report as a PDF document, A4.

    Parameters
    ----------
    report : Report
        The report, already in its language (its ``created`` becomes the PDF's date).
    """
    pdf = _ReportPdf(report.title)
    pdf.add_font(_FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(_FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(report.created)
    pdf.set_title(report.title)
    pdf.set_lang(report.lang)
    pdf.set_creator("klaster")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 15)
    pdf.multi_cell(0, 8, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", _BODY_PT + 1)
    for line in report.header:
        pdf.multi_cell(0, _LINE_MM + 0.6, line, new_x="LMARGIN", new_y="NEXT")
    for section in report.sections:
        pdf.ln(3)
        pdf.set_font(_FONT, "B", 12)
        pdf.multi_cell(0, 7, section.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, "", _BODY_PT)
        for paragraph in section.paragraphs:
            pdf.multi_cell(0, _LINE_MM, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for table in section.tables:
            _write_table(pdf, table)
        for plot in section.plots:
            # Full text width; fpdf2 moves an image that does not fit to the next page.
            pdf.image(io.BytesIO(plot.png), w=pdf.epw, alt_text=plot.title)
            pdf.ln(2)
    return bytes(pdf.output())
