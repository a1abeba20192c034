"""The two tables of `wsnas audit`: read, validated and joined by arch key (no torch).

Reading: UTF-8 text (a BOM is dropped, CRLF works); the separator is sniffed from the first lines (comma, tab,
semicolon or '|': the one that splits the header into the most fields, the same number on every line) unless
`--sep` names it. Every cell is kept as text, so bad values are quoted as written, and every row keeps the line
of the file it came from (blank lines and quoted line breaks counted), so a message names the file and line that
hold the problem.

Joining: keys are stripped and, with a registered space, canonicalised (any spelling the space accepts matches).
Every scored arch needs a truth row; truth rows without a score are fine and only counted. When scored keys have
no truth row the error shows keys from both sides and the likely cause (numbers spelled differently, padding or
case, parts in another order, or keys that sit in another column of the other table).
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import re
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import GroundTruth, canonical_keys
from wsnas.benchmarks.registry import get_space, space_names
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import FINETUNE

SEPARATORS = (",", "\t", ";", "|")  # sniffed in this order of preference
SEP_NAMES = {"comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "pipe": "|", "space": " ",
             "whitespace": " "}
BN_POLICY = "bn_policy"  # optional scores column; without it every score counts as bn_policy "n/a"
NO_POLICY = "n/a"
SCORE, TRUTH, SEED = "score:", "truth:", "seed:"  # prefixes of the joined table's value columns
JOINED = "joined.csv"  # the joined table in an audit directory
MIN_ARCHS = 10  # fewer matched archs: error, the figures would mean nothing
FEW_ARCHS = 30  # fewer: a warning, the intervals will be wide
_SNIFF_LINES = 50
_EXAMPLES = 3


class AuditError(WsnasError):
    """A scores or truth table that cannot be audited as given."""


def comma_list(entries: Sequence[str]) -> list[str]:
    """Repeatable, comma-separated option values as one list."""
    return [part.strip() for entry in entries for part in entry.split(",") if part.strip()]


def examples(items: Sequence[Any], n: int = _EXAMPLES) -> str:
    items = list(items)
    return ", ".join(map(str, items[:n])) + (", ..." if len(items) > n else "")


# ------------------------------------------------------------------------------------------------ reading

@dataclass(frozen=True)
class Table:
    """A table with every cell as text, where it came from, and the file line of each row."""

    frame: pd.DataFrame
    what: str  # "scores" or "truth"
    source: str  # the file, or the description of a space's built-in table
    option: str  # the option that gives it
    lines: tuple[int, ...] | None = None  # file line of each row; None for a built-in table
    sep: str | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.what} table {self.source}"

    def where(self, position: int) -> str:
        """'line 12' of the file, or 'row 12' of a built-in table."""
        return self.places([position])

    def places(self, positions: Sequence[int]) -> str:
        """'lines 5, 42' of the file ('line 5' for one), or 'rows ...' of a built-in table."""
        numbers = [self.lines[p] for p in positions] if self.lines is not None else [p + 1 for p in positions]
        word = "line" if self.lines is not None else "row"
        return f"{word}{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"


def separator(option: str | None) -> str | None:
    """The separator `--sep` names: a character, or comma, tab, semicolon, pipe, space (runs of whitespace)."""
    if option is None:
        return None
    sep = SEP_NAMES.get(option.lower(), option)
    if len(sep) != 1 or sep in "\"\n\r":
        raise AuditError(f"--sep {option!r} is not one character; give the separator, e.g. --sep ';', --sep tab "
                         f"or --sep space (runs of spaces and tabs)")
    return sep


def sniff(lines: Sequence[str]) -> str:
    """The separator of SEPARATORS that splits the header into the most fields, the same number on every line;
    ',' when none does (a one-column file)."""
    best, best_fields = ",", 1
    for sep in SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=sep) if row]
        if counts and counts[0] > best_fields and all(c == counts[0] for c in counts):
            best, best_fields = sep, counts[0]
    return best


def _records(text: str, sep: str) -> tuple[list[str], list[list[str]], list[int]]:
    """(header, rows, line of each row); blank lines skipped but counted, quoted line breaks followed."""
    if sep == " ":
        numbered = [(i + 1, line.split()) for i, line in enumerate(text.splitlines())]
        numbered = [(n, fields) for n, fields in numbered if fields]
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        numbered, end = [], 0
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                numbered.append((start, fields))
    if not numbered:
        raise ValueError("the file is empty")
    (_, header), body = numbered[0], numbered[1:]
    for line, fields in body:
        if len(fields) != len(header):
            raise ValueError(f"line {line} has {len(fields)} field(s) but the header has {len(header)}")
    return [h.strip() for h in header], [fields for _, fields in body], [line for line, _ in body]


def read_table(path: Path, what: str, option: str, sep: str | None = None) -> Table:
    """A delimited text file as a Table (see the module docstring); one AuditError for anything unreadable."""
    if not path.exists():
        raise AuditError(f"{what} table {path} does not exist; pass the CSV with {option}")
    if not path.is_file():
        raise AuditError(f"{what} table {path} is not a file; pass a CSV file with {option}")
    fix = f"pass a delimited text file with a header row via {option} (--sep names the separator)"
    try:
        text = path.read_bytes().decode("utf-8-sig")
        if "\0" in text:
            raise ValueError("it holds NUL bytes: a binary file")
        chosen = sep or sniff(text.splitlines()[:_SNIFF_LINES])
        header, rows, lines = _records(text, chosen)
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise AuditError(f"{what} table {path} is not a readable CSV ({reason}); {fix}") from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise AuditError(f"{what} table {path}: column(s) {examples([repr(h) for h in repeated])} appear more than "
                         f"once in the header; give each column its own name")
    if not rows:
        raise AuditError(f"{what} table {path} has no data rows (columns: {', '.join(header)}); pass a table with "
                         f"one row per arch via {option}")
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    return Table(frame, what, str(path), option, tuple(lines), chosen, path)


def builtin_table(truth: GroundTruth) -> Table:
    """A space's own ground truth as a truth Table (cells as text, NaN as 'nan')."""
    return Table(truth.frame.astype(str), "truth", f"of the {truth.space} space ({truth.source})",
                 "--truth (omitted: the space's own)")


def require(table: Table, column: str, option: str) -> None:
    """An error naming the columns present, a close match and a separator that would split the header."""
    columns = list(table.frame.columns)
    if column in columns:
        return
    present = ", ".join(repr(c) for c in columns)
    hints = [f"did you mean {m!r}?" for m in difflib.get_close_matches(column, columns, n=1)]
    if len(columns) == 1 and table.sep is not None:
        others = [s for s in SEPARATORS if s != table.sep and s in columns[0]]
        if others:
            flag = "--truth-sep" if table.what == "truth" else "--sep"  # --truth-sep overrides --sep for the truth
            hints.append(f"the header looks separated by {others[0]!r}: pass {flag} {others[0]!r}")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise AuditError(f"{table.label} has no column {column!r} (columns present: {present}){hint}; name the right "
                     f"one with {option}")


# ------------------------------------------------------------------------------------------------- values

def _problem(cell: str | float) -> str | None:
    """Why a cell (text read from a file, or a number of a built-in table) is not a finite number ('empty', 'not a
    number', 'NaN', 'infinite'), None when it is one."""
    if isinstance(cell, str):
        cell = cell.strip()
        if not cell:
            return "empty"
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return "not a number"
    if math.isnan(value):
        return "NaN"
    return "infinite" if math.isinf(value) else None


def numbers(table: Table, column: str, positions: Sequence[int], keys: Sequence[str],
            missing_ok: bool = False) -> np.ndarray:
    """`column` at the rows `positions` as floats; an error quoting each unusable value with its file line.

    With `missing_ok` (per-seed runs) empty and NaN cells are missing values (NaN), not errors.
    """
    cells = table.frame[column].to_numpy()[list(positions)]
    problems = [_problem(c) for c in cells]
    allowed = ("empty", "NaN") if missing_ok else ()
    bad = [(p, k, c, why) for p, k, c, why in zip(positions, keys, cells, problems) if why and why not in allowed]
    if bad:
        quoted = [f"{table.where(p)} (key {k!r}): {c!r} ({why})" for p, k, c, why in bad]
        need = "a number or nothing (a missing run)" if missing_ok else "a finite number"
        raise AuditError(f"{table.label}: {len(bad)} of {len(cells)} row(s) used have no usable {column!r} "
                         f"({', '.join(sorted({b[3] for b in bad}))}), e.g. {examples(quoted)}; each needs "
                         f"{need}: fix those values or drop the rows")
    return np.array([math.nan if why else float(c) for c, why in zip(cells, problems)])


def keys_of(table: Table, column: str, space: str | None) -> list[str]:
    """The key column, stripped and canonicalised through `space` when it is registered."""
    raw = [k.strip() for k in table.frame[column]]
    empty = [p for p, k in enumerate(raw) if not k]
    if empty:
        raise AuditError(f"{table.label}: {len(empty)} row(s) have no {column!r}, e.g. on {table.places(empty[:3])}; "
                         f"every row needs its arch key")
    if space is None:
        return raw
    keys, failures = canonical_keys(get_space(space), raw)
    if failures:
        bad = [f"{table.where(p)} {t!r}" for p, t in enumerate(raw) if t in failures]
        first = next(iter(failures))
        raise AuditError(f"{table.label}: {len(bad)} of {len(raw)} key(s) are not {space} archs, e.g. "
                         f"{examples(bad)} ({failures[first]}); pass keys of the {space} space, or the right --space")
    return keys


def check_unique(table: Table, ident: list[Sequence[str]], canonicalised: bool, per: str = "") -> None:
    """An error for identities (key, or key and bn_policy) that occur on more than one row."""
    rows: dict[Any, list[int]] = {}
    for position, values in enumerate(zip(*ident)):
        rows.setdefault(values if len(values) > 1 else values[0], []).append(position)
    repeated = {k: v for k, v in rows.items() if len(v) > 1}
    if not repeated:
        return
    lines = [f"{k!r} on {table.places(v)}" for k, v in repeated.items()]
    spelled = " (compared after canonicalisation, so two spellings of one arch count as one)" if canonicalised else ""
    raise AuditError(f"{table.label}: {len(repeated)} key(s){spelled} appear more than once "
                     f"({sum(map(len, repeated.values()))} rows), e.g. {examples(lines)}; keep one row per arch{per}")


# ------------------------------------------------------------------------------------------ key mismatches

def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _loose(text: str) -> str:
    """A key without case, whitespace or leading zeros of its digit runs."""
    return re.sub(r"(?<!\d)0+(?=\d)", "", re.sub(r"\s+", "", text.lower()))


def _parts(text: str) -> tuple[str, ...]:
    return tuple(sorted(p for p in re.split(r"[^0-9A-Za-z_.~]+", text.lower()) if p))


def _same_under(rule: Any, unmatched: Sequence[str], others: Sequence[str]) -> list[tuple[str, str]]:
    """(unmatched key, a key of the other side) pairs that agree once `rule` is applied to both."""
    seen: dict[Any, str] = {}
    for key in others:
        value = rule(key)
        if value is not None and value != ():
            seen.setdefault(value, key)
    return [(u, seen[rule(u)]) for u in unmatched if rule(u) is not None and rule(u) in seen]


def _other_column(unmatched: Sequence[str], table: Table, key_col: str) -> str | None:
    """A column of `table` other than its key column that holds most of the unmatched keys."""
    wanted = set(unmatched)
    for column in table.frame.columns:
        if column != key_col and sum(v.strip() in wanted for v in table.frame[column]) >= max(1, len(wanted) // 2):
            return column
    return None


def mismatch_causes(unmatched: Sequence[str], truth_keys: Sequence[str], scores: Table, truth: Table,
                    key_col: str, truth_key_col: str) -> list[str]:
    """The likely reasons why scored keys find no truth row, each with the fix."""
    causes = []
    rules = (("numbers", _as_number, "they are the same numbers spelled differently (int vs float, leading zeros, "
                                     "signs): write the keys the same way in both tables"),
             ("padding", _loose, "they differ only in case, spaces or zero padding: write the keys the same way "
                                 "in both tables"),
             ("order", _parts, "they hold the same parts in another order: write the parts in one order, or give "
                               "the registered --space that canonicalises them"))
    for _, rule, advice in rules:
        pairs = _same_under(rule, unmatched, truth_keys)
        if pairs:
            shown = examples([f"{u!r} vs {t!r}" for u, t in pairs])
            causes.append(f"{len(pairs)} of the unmatched keys equal truth keys loosely ({shown}): {advice}")
            break
    column = _other_column(unmatched, truth, truth_key_col)
    if column:
        causes.append(f"the scored keys are values of the truth table's column {column!r}: pass --truth-key-col "
                      f"{column}")
    column = _other_column(truth_keys[:1000], scores, key_col)
    if column:
        causes.append(f"the truth keys are values of the scores table's column {column!r}: pass --key-col {column}")
    return causes


# ------------------------------------------------------------------------------------------------ joining

@dataclass(frozen=True)
class JoinSpec:
    """What to join: the tables, their key columns, the value columns, and the space (None: keys as written)."""

    scores: Table
    truth: Table
    key_col: str
    truth_key_col: str
    score_cols: tuple[str, ...]
    truth_cols: tuple[str, ...]
    seed_cols: dict[str, tuple[str, ...]]  # truth column -> its per-seed columns (may be empty)
    space: str | None = None
    drop_unmatched: bool = False  # audit the scored archs that have a truth row, and report the rest


@dataclass(frozen=True)
class Joined:
    """The matched archs, one row per (key, bn_policy): key, epoch 0, bn_policy, finetune_batches 0, and the
    columns score:<name>, truth:<name> and seed:<truth>#<k> (raw values, in the tables' own directions)."""

    table: pd.DataFrame
    truth_without_score: int
    canonicalised: bool
    warnings: tuple[str, ...]
    dropped: tuple[str, ...] = ()  # scored keys without a truth row, left out (JoinSpec.drop_unmatched)


def join_tables(spec: JoinSpec) -> Joined:
    """Read, validate and join the two tables (see the module docstring for the rules)."""
    scores, truth = spec.scores, spec.truth
    for option, column in (("--key-col", spec.key_col), *(("--score-col", c) for c in spec.score_cols)):
        require(scores, column, option)
    seeds = [c for cols in spec.seed_cols.values() for c in cols]
    for option, column in (("--truth-key-col", spec.truth_key_col), *(("--truth-col", c) for c in spec.truth_cols),
                           *(("--truth-seeds", c) for c in seeds)):
        require(truth, column, option)
    space = spec.space
    s_keys = keys_of(scores, spec.key_col, space)
    t_keys = keys_of(truth, spec.truth_key_col, space)
    with_policy = BN_POLICY in scores.frame.columns
    policy = [p.strip() for p in scores.frame[BN_POLICY]] if with_policy else [NO_POLICY] * len(s_keys)
    empty = [p for p, v in enumerate(policy) if not v]
    if empty:
        raise AuditError(f"{scores.label}: {len(empty)} row(s) have an empty {BN_POLICY!r}, e.g. on "
                         f"{scores.places(empty[:3])}; fill it in or drop the column")
    check_unique(scores, [s_keys, policy] if with_policy else [s_keys], space is not None,
                 " and bn_policy" if with_policy else "")
    check_unique(truth, [t_keys], space is not None)

    row_of = {k: p for p, k in enumerate(t_keys)}
    unmatched = list(dict.fromkeys(k for k in s_keys if k not in row_of))
    scored = set(s_keys)
    unscored = sum(k not in scored for k in t_keys)
    warnings: list[str] = []
    if unmatched and not spec.drop_unmatched:
        _no_truth(spec, unmatched, t_keys, len(set(s_keys)), unscored)
    if unmatched:
        warnings.append(f"--drop-unmatched: {len(unmatched)} of {len(scored)} scored arch(s) have no truth row and "
                        f"are left out, e.g. {examples([repr(k) for k in unmatched])} (all listed in config.json, "
                        f"audit.dropped_unmatched)")
    rows = [p for p, k in enumerate(s_keys) if k in row_of]
    if not rows:
        _no_truth(dataclasses.replace(spec, drop_unmatched=False), unmatched, t_keys, len(scored), unscored)
    kept = [s_keys[p] for p in rows]
    table = pd.DataFrame({"key": kept, "epoch": 0, BN_POLICY: [policy[p] for p in rows], FINETUNE: 0})
    for column in spec.score_cols:
        table[SCORE + column] = numbers(scores, column, rows, kept)
    truth_rows = [row_of[k] for k in kept]
    for column in spec.truth_cols:
        table[TRUTH + column] = numbers(truth, column, truth_rows, kept)
        for k, seed in enumerate(spec.seed_cols.get(column, ())):
            table[f"{SEED}{column}#{k}"] = numbers(truth, seed, truth_rows, kept, missing_ok=True)
    return Joined(table, unscored, space is not None, (*warnings, *_check_counts(table)), tuple(unmatched))


def _no_truth(spec: JoinSpec, unmatched: list[str], t_keys: list[str], n_scored: int, unscored: int) -> None:
    """The error for scored archs without a truth row: keys from both sides and the likely causes."""
    hint = ""
    if spec.space is None:
        hint = (f"; if the keys name the same archs spelled differently, pass --space ({', '.join(space_names())}, "
                f"or a plugin's space with --plugin) to canonicalise them")
    causes = mismatch_causes(unmatched, t_keys, spec.scores, spec.truth, spec.key_col, spec.truth_key_col)
    likely = f"; likely cause: {'; '.join(causes)}" if causes else ""
    raise AuditError(
        f"{len(unmatched)} of {n_scored} scored arch(s) in {spec.scores.source} have no row in the {spec.truth.label}"
        f", e.g. {examples([repr(k) for k in unmatched])}; truth keys look like "
        f"{examples([repr(k) for k in t_keys])} ({unscored} of {len(t_keys)} truth rows have no score, which is "
        f"fine){likely}; every scored arch needs its ground truth: add the rows, drop those scores, or pass "
        f"--drop-unmatched to audit the matched archs and list the rest{hint}")


def _check_counts(table: pd.DataFrame) -> tuple[str, ...]:
    """Warnings for small groups; an error for groups too small to mean anything."""
    warnings = []
    for policy, n in table.groupby(BN_POLICY).size().items():
        where = f" with bn_policy {policy!r}" if policy != NO_POLICY else ""
        if n < MIN_ARCHS:
            raise AuditError(f"only {n} matched arch(s){where}; ranking figures need at least {MIN_ARCHS} "
                             f"(better {FEW_ARCHS} or more): score and list more archs")
        if n < FEW_ARCHS:
            warnings.append(f"only {n} matched archs{where}: below {FEW_ARCHS} the intervals are wide and "
                            f"the top-k figures coarse")
    return tuple(warnings)
