"""Results -> files: Parquet, JSON, YAML and markdown, each written atomically."""

from cords_tune.reports.comparison import comparison_section, write_comparison
from cords_tune.reports.files import write_json_atomic, write_parquet_atomic, write_text_atomic
from cords_tune.reports.markdown import markdown_table, render_report
from cords_tune.reports.run_files import write_run

__all__ = [
    "comparison_section",
    "write_comparison",
    "markdown_table",
    "render_report",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_run",
    "write_text_atomic",
]
