"""The input data contract as code: table specs, pandera schemas, readers, writers and validation."""

from riskmodel.contract.io import read_table_file, write_table
from riskmodel.contract.schemas import table_schema
from riskmodel.contract.spec import TABLES, ColumnSpec, DateOrder, DType, TableSpec, table_spec
from riskmodel.contract.validate import (
    PROBLEM_COLUMNS,
    Dataset,
    TableResult,
    coerce_column,
    load_dataset,
    validate_dataset,
    validate_rows,
    validate_table,
)

__all__ = [
    "PROBLEM_COLUMNS",
    "TABLES",
    "ColumnSpec",
    "DType",
    "Dataset",
    "DateOrder",
    "TableResult",
    "TableSpec",
    "coerce_column",
    "load_dataset",
    "read_table_file",
    "table_schema",
    "table_spec",
    "validate_dataset",
    "validate_rows",
    "validate_table",
    "write_table",
]
