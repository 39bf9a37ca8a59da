"""An on-disk index of earlier crawls: deduplicate new data against everything added before, by id.

An index is a folder of Parquet segments, one folder per *add*, and a small manifest (``index.json``)
listing the adds in order. Polars, DuckDB and Spark read the segments directly:

- ``texts.parquet``: every distinct text the add brought that the index did not hold: its number
  ``text`` (global, in the order texts first appeared over all adds), its exact key, whether it takes
  part in near matching, whether it is a *member* of a near cluster around another text (a member never
  takes others), its cluster (the number of the text that represents it, -1 for none) and, for a near
  text that is no member, its shingle hashes (what verification needs); sorted by exact key;
- ``postings.parquet``: (band, key, text, member) for every near text of the add, sorted by band and key:
  the LSH buckets new data is looked up in;
- ``occurrences.parquet``: every block of the add with its text number, document id, block number,
  offsets and line: what a match names;
- ``documents.parquet``: the add's documents; ``clusters.parquet``: new cluster assignments of texts of
  earlier adds (a text that was alone until this add); ``cluster_documents.parquet``: documents per
  cluster in this add (for the boilerplate rule of ``clean``).

Looking new data up joins its (few) keys against the segments a segment at a time, so memory grows with
the new data, never with the index. Removed document ids are kept in ``removed/`` and left out of every
lookup; ``compact`` folds everything into one add. An add is atomic (``dedup.commit``: the segment folder
and the manifest are renamed into place in one journaled change) and one writer holds the index at a time.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from dedup import commit
from dedup import schema as S
from dedup._arrow import list_values
from dedup.errors import InputError, OptionsError, OutputError
from dedup.fingerprint import ShingleSets
from dedup.formats.records import Skip
from dedup.options import ScanOptions

MANIFEST = "index.json"
# 2: code and tables are shingled by the characters of their exact form (format 1 held their word shingles).
FORMAT = 2
ADDS = "adds"
REMOVED = "removed"
# The options that decide what matches what: an index and the data looked up in it must agree on them.
MATCHING_OPTIONS = ("segment", "shingle", "minhash", "lsh", "min_shingles")

TEXT = "text"  # a text's number in the index
MEMBER = "member"
BAND, KEY = "band", "key"
ADD = "add"  # an add's position in the manifest
ALREADY_INDEXED = "already indexed"  # the reason a file an earlier add brought is passed over

TEXTS_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]  # mypy cannot join the list type with the others
        TEXT: pl.Int64,
        S.EXACT_HASH: pl.UInt64,
        S.NEAR: pl.Boolean,
        MEMBER: pl.Boolean,
        S.CLUSTER: pl.Int64,
        S.SHINGLES: pl.List(pl.UInt32),
    }
)
POSTINGS_SCHEMA = pl.Schema({BAND: pl.Int16, KEY: pl.UInt64, TEXT: pl.Int64, MEMBER: pl.Boolean})
OCCURRENCES_SCHEMA = pl.Schema(
    {TEXT: pl.Int64, S.DOC_ID: pl.String, S.BLOCK: pl.Int32, S.START: pl.Int64, S.END: pl.Int64, S.LINE: pl.Int32}
)
DOCUMENTS_SCHEMA = pl.Schema({S.DOC_ID: pl.String, S.SOURCE: pl.String, S.SOURCE_LINE: pl.Int64})
ASSIGNMENTS_SCHEMA = pl.Schema({TEXT: pl.Int64, S.CLUSTER: pl.Int64})
CLUSTER_DOCUMENTS_SCHEMA = pl.Schema({S.CLUSTER: pl.Int64, S.N_DOCS: pl.Int64})
SEGMENTS = {
    "texts": TEXTS_SCHEMA,
    "postings": POSTINGS_SCHEMA,
    "occurrences": OCCURRENCES_SCHEMA,
    "documents": DOCUMENTS_SCHEMA,
    "clusters": ASSIGNMENTS_SCHEMA,
    "cluster_documents": CLUSTER_DOCUMENTS_SCHEMA,
}


@dataclass(frozen=True, slots=True)
class Add:
    """One add of documents to an index, as its manifest records it."""

    id: str
    name: str
    time: str  # ISO 8601, UTC
    documents: int
    blocks: int
    texts: int  # new distinct texts
    first_text: int  # the number of its first new text
    files: dict[str, str] = field(default_factory=dict)  # file -> XXH64 of its bytes: added files are not added again


def matching_settings(options: ScanOptions) -> dict[str, Any]:
    """The options an index records and every lookup must agree with."""
    return {name: _plain(getattr(options, name)) for name in MATCHING_OPTIONS}


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) else value


def file_hash(path: Path) -> str:
    """XXH64 of a file's bytes: the same content is recognized under any name."""
    digest = xxhash.xxh64()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def passed_over(name: str, digest: str, added: dict[str, str]) -> Skip | None:
    """Why a file of this content hash is not added again (an earlier add brought it), or ``None``.

    Args:
        added: the content hash of every file added so far, and the add that brought it (``added_files``).
    """
    if digest not in added:
        return None
    return Skip(name, None, ALREADY_INDEXED, f"already in the index (add {added[digest]!r})", expected=True)


class Index:
    """An index folder, read through its manifest (see the module docstring).

    Use ``Index.open`` for an existing index and ``Index.create`` for a new one; both check the folder.
    """

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self._manifest = manifest
        self.adds = [Add(**add) for add in manifest["adds"]]
        self.removed_files: list[str] = list(manifest["removed"])
        self.banding = (int(manifest["banding"][0]), int(manifest["banding"][1]))

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, folder: str | Path) -> Index:
        """An existing index.

        Raises:
            InputError: the folder is missing, is not an index, or its manifest is damaged.
        """
        path = Path(folder)
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise InputError(f"{path}: no such index (make one with: dedup index add {path} PATHS…)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: not a dedup index (no {MANIFEST})") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{manifest_path}: not a readable index manifest ({exc})") from exc
        try:
            if manifest.get("dedup_index") != FORMAT:
                raise InputError(
                    f"{manifest_path}: index format {manifest.get('dedup_index')!r}, this dedup reads {FORMAT}"
                )
            index = cls(path, manifest)
            index.settings  # noqa: B018 - checked now, not half-way through a lookup
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{manifest_path}: not a dedup index manifest ({exc!r})") from exc
        for add in index.adds:
            if not (index.folder / ADDS / add.id).is_dir():
                raise InputError(f"{index.folder / ADDS / add.id}: the segment of add {add.name!r} is missing")
        return index

    @classmethod
    def create(cls, folder: str | Path, options: ScanOptions, banding: tuple[int, int]) -> Index:
        """A new, empty index (the folder may exist if it is empty).

        Raises:
            OutputError: the folder holds something else, or cannot be written.
        """
        path = Path(folder)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise OutputError(f"{path}: exists and is not an empty folder; choose a new folder for the index")
        manifest = {
            "dedup_index": FORMAT,
            "options": matching_settings(options),
            "banding": list(banding),
            "adds": [],
            "removed": [],
        }
        with commit_errors(path):
            (path / ADDS).mkdir(parents=True, exist_ok=True)
            (path / REMOVED).mkdir(exist_ok=True)
        index = cls(path, manifest)
        with commit_errors(path):
            index._write_manifest_now()
        return index

    @property
    def settings(self) -> dict[str, Any]:
        """The matching options the index was made with."""
        return dict(self._manifest["options"])

    def check_options(self, options: ScanOptions) -> None:
        """Refuse options that would match otherwise than the index was made with.

        Raises:
            OptionsError: an option differs; the message names it and both values.
        """
        given = matching_settings(options)
        for name, recorded in self.settings.items():
            if given[name] != recorded:
                differs = _difference(name, recorded, given[name])
                raise OptionsError(f"{self.folder}: the index was made with {differs}; scan with the same options")

    @property
    def next_text(self) -> int:
        """The number the next new text gets."""
        return self.adds[-1].first_text + self.adds[-1].texts if self.adds else 0

    def added_files(self) -> dict[str, str]:
        """The content hash of every file added so far, and the add that brought it."""
        return {digest: add.name for add in self.adds for digest in add.files.values()}

    # ----------------------------------------------------------------- segments

    def segment_files(self, name: str) -> list[tuple[int, Path]]:
        """Each committed add's file of one kind of segment, with the add's position in the manifest."""
        return [(number, self.folder / ADDS / add.id / f"{name}.parquet") for number, add in enumerate(self.adds)]

    def removed_id_files(self) -> list[Path]:
        """The files of removed document ids, a Parquet file of ``doc_id`` per removal."""
        return [self.folder / REMOVED / name for name in self.removed_files]

    def scan(self, name: str, numbered: bool = False) -> pl.LazyFrame:
        """One kind of segment over every add, with the add's position (``add``), lazily; ``numbered`` adds
        each row's position in its segment (``row``), which is the order occurrences were read in."""
        schema = SEGMENTS[name]
        extra: dict[str, pl.DataType] = {ADD: pl.Int32()} | ({"row": pl.UInt32()} if numbered else {})
        frames = []
        for number, path in self.segment_files(name):
            frame = pl.scan_parquet(path).select(list(schema))
            if numbered:
                frame = frame.with_row_index("row")
            frames.append(frame.with_columns(pl.lit(number, pl.Int32).alias(ADD)))
        if not frames:
            return pl.LazyFrame(schema={**dict(schema), **extra})
        return pl.concat(frames, how="diagonal")

    def each(self, name: str, query: Callable[[pl.LazyFrame], pl.LazyFrame], numbered: bool = False) -> pl.DataFrame:
        """``query`` run on one kind of segment, one add at a time, the results put together: memory holds
        one segment's query and what the queries found, whatever the number of adds."""
        schema = SEGMENTS[name]
        found = []
        for number, path in self.segment_files(name):
            frame = pl.scan_parquet(path).select(list(schema))
            if numbered:
                frame = frame.with_row_index("row")
            found.append(query(frame.with_columns(pl.lit(number, pl.Int32).alias(ADD))).collect(engine="streaming"))
        if found:
            return pl.concat(found, how="diagonal_relaxed")
        empty = pl.LazyFrame(schema={**dict(schema), ADD: pl.Int32(), **({"row": pl.UInt32()} if numbered else {})})
        return query(empty).collect()

    def removed_ids(self) -> pl.LazyFrame:
        """Every removed document id."""
        frames = [pl.scan_parquet(path) for path in self.removed_id_files()]
        return pl.concat(frames) if frames else pl.LazyFrame(schema={S.DOC_ID: pl.String})

    # ----------------------------------------------------------------- lookups

    def exact(self, hashes: np.ndarray) -> pl.DataFrame:
        """The index texts with these exact keys: ``exact_hash``, ``text``, ``near``, ``member``, ``cluster``
        (the latest assignment), for texts that still stand in a document that is not removed."""
        wanted = pl.DataFrame({S.EXACT_HASH: hashes}, schema={S.EXACT_HASH: pl.UInt64}).unique().lazy()
        found = self.each(
            "texts",
            lambda texts: texts.select(S.EXACT_HASH, TEXT, S.NEAR, MEMBER, S.CLUSTER).join(
                wanted, on=S.EXACT_HASH, how="semi"
            ),
        )
        return self.standing(self._assigned(found))

    def postings(self, keys: pl.DataFrame) -> pl.DataFrame:
        """The index texts in the LSH buckets of these (band, key) pairs: ``band``, ``key``, ``text``, ``member``."""
        wanted = keys.select(BAND, KEY).unique().lazy()
        found = self.each(
            "postings",
            lambda postings: postings.select(BAND, KEY, TEXT, MEMBER).join(wanted, on=[BAND, KEY], how="semi"),
        )
        return found.select(BAND, KEY, TEXT, MEMBER).sort(BAND, KEY, TEXT)

    def shingles(self, texts: np.ndarray) -> ShingleSets:
        """The shingle sets (sorted, distinct) of these index texts, in the order of ``texts``."""
        order = pl.DataFrame({TEXT: texts, "at": np.arange(texts.size)}).lazy()
        found = self.scan("texts").select(TEXT, S.SHINGLES).join(order, on=TEXT).collect(engine="streaming").sort("at")
        values, offsets = list_values(found[S.SHINGLES])
        return ShingleSets(values.astype(np.uint32), offsets, distinct=True)

    def _assigned(self, texts: pl.DataFrame) -> pl.DataFrame:
        """Texts with their latest cluster: a later add's assignment wins over the text's own."""
        if texts.is_empty():
            return texts
        wanted = texts.select(TEXT).lazy()
        later = (
            self.each("clusters", lambda rows: rows.join(wanted, on=TEXT, how="semi"))
            .sort(ADD)
            .group_by(TEXT)
            .agg(pl.col(S.CLUSTER).last().alias("assigned"))
        )
        return (
            texts.join(later, on=TEXT, how="left")
            .with_columns(pl.coalesce("assigned", S.CLUSTER).alias(S.CLUSTER))
            .drop("assigned")
        )

    def standing(self, texts: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``texts`` (a ``text`` column) whose text still stands in some document that is not removed."""
        if texts.is_empty() or not self.removed_files:
            return texts
        first = self.first_occurrences(texts[TEXT].to_numpy())
        return texts.join(first.select(TEXT), on=TEXT, how="semi")

    def first_occurrences(self, texts: np.ndarray) -> pl.DataFrame:
        """Where each of these texts first stands in a document that is not removed: ``text``, ``doc_id``,
        ``block``, ``start``, ``end``, ``line``, and the add's ``name`` and ``time``."""
        wanted = pl.DataFrame({TEXT: texts}, schema={TEXT: pl.Int64}).unique().lazy()
        removed = self.removed_ids()
        found = (
            self.each(
                "occurrences",
                lambda rows: rows.join(wanted, on=TEXT, how="semi").join(removed, on=S.DOC_ID, how="anti"),
                numbered=True,
            )
            .sort(ADD, "row")
            .group_by(TEXT, maintain_order=True)
            .first()
            .drop("row")
        )
        adds = pl.DataFrame(
            {ADD: range(len(self.adds)), "name": [a.name for a in self.adds], "time": [a.time for a in self.adds]},
            schema={ADD: pl.Int32, "name": pl.String, "time": pl.String},
        )
        return found.join(adds, on=ADD, how="left")

    def cluster_documents(self, clusters: np.ndarray) -> pl.DataFrame:
        """Documents per cluster over every add: ``cluster``, ``n_docs``."""
        wanted = pl.DataFrame({S.CLUSTER: clusters}, schema={S.CLUSTER: pl.Int64}).unique().lazy()
        found = self.each("cluster_documents", lambda rows: rows.join(wanted, on=S.CLUSTER, how="semi"))
        return found.group_by(S.CLUSTER).agg(pl.col(S.N_DOCS).sum())

    # ------------------------------------------------------------------ writing

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the index as its one writer, with what a killed writer left finished or cleared first.

        Raises:
            OutputError: another run is writing the index.
        """
        with commit.writer_lock(self.folder / commit.LOCK_NAME, str(self.folder)):
            with commit_errors(self.folder):
                commit.recover(self.folder)
                commit.recover(self.folder / ADDS)
                commit.recover(self.folder / REMOVED)
            fresh = Index.open(self.folder)  # what a recovered or concurrent commit changed
            self._manifest, self.adds, self.removed_files = fresh._manifest, fresh.adds, fresh.removed_files
            yield

    def commit_add(self, segment: Path, add: Add) -> None:
        """Publish a staged add folder and the manifest that lists it, in one journaled change (hold ``writing``).

        Raises:
            OutputError: the index cannot be written.
        """
        manifest = self._manifest | {"adds": [*self._manifest["adds"], dataclasses.asdict(add)]}
        with commit_errors(self.folder):
            staged_manifest = self._staged_manifest(manifest)
            commit.commit(
                [(segment, self.folder / ADDS / add.id), (staged_manifest, self.folder / MANIFEST)], self.folder
            )
        self._manifest, self.adds = manifest, [*self.adds, add]

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by id from every later lookup (hold ``writing``); how many ids were given.

        Raises:
            OutputError: the index cannot be written.
        """
        name = f"{len(self.removed_files):06d}-{secrets.token_hex(4)}.parquet"
        manifest = self._manifest | {"removed": [*self.removed_files, name]}
        with commit_errors(self.folder):
            staged = commit.temporary_name(self.folder / REMOVED / name)
            pl.DataFrame({S.DOC_ID: list(doc_ids)}, schema={S.DOC_ID: pl.String}).unique().write_parquet(staged)
            commit.fsync_file(staged)
            staged_manifest = self._staged_manifest(manifest)
            commit.commit(
                [(staged, self.folder / REMOVED / name), (staged_manifest, self.folder / MANIFEST)], self.folder
            )
        self._manifest, self.removed_files = manifest, [*self.removed_files, name]
        return len(doc_ids)

    def new_segment(self) -> Path:
        """A staging folder for the next add's segment (removed by ``recover`` if the run dies)."""
        staging = commit.temporary_name(self.folder / ADDS / f"{len(self.adds):06d}")
        staging.mkdir()
        return staging

    def next_add_id(self) -> str:
        return f"{len(self.adds):06d}-{secrets.token_hex(4)}"

    def _staged_manifest(self, manifest: dict[str, Any]) -> Path:
        staged = commit.temporary_name(self.folder / MANIFEST)
        staged.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        commit.fsync_file(staged)
        return staged

    def _write_manifest_now(self) -> None:
        staged = self._staged_manifest(self._manifest)
        commit.commit([(staged, self.folder / MANIFEST)], self.folder)

    def compact(self) -> Add | None:
        """Merge every add into one, leaving removed documents out for good (hold ``writing``); the merged add.

        Texts keep their numbers, a text that no longer stands in any document is dropped, and each text's
        latest cluster is written into it. Tables are streamed from segment to segment.

        Raises:
            OutputError: the index cannot be written.
        """
        if not self.adds:
            return None
        old = [self.folder / ADDS / add.id for add in self.adds] + self.removed_id_files()
        segment = self.new_segment()
        removed = self.removed_ids()
        occurrences = self.scan("occurrences").join(removed, on=S.DOC_ID, how="anti").drop(ADD)
        standing = occurrences.select(TEXT).unique()
        latest = self.scan("clusters").sort(ADD).group_by(TEXT).agg(pl.col(S.CLUSTER).last().alias("assigned"))
        texts = (
            self.scan("texts")
            .join(standing, on=TEXT, how="semi")
            .join(latest, on=TEXT, how="left")
            .with_columns(pl.coalesce("assigned", S.CLUSTER).alias(S.CLUSTER))
            .select(list(TEXTS_SCHEMA))
        )
        postings = self.scan("postings").join(standing, on=TEXT, how="semi").drop(ADD)
        documents = self.scan("documents").join(removed, on=S.DOC_ID, how="anti").drop(ADD)
        with commit_errors(self.folder):
            for name, frame in (
                ("texts", texts),
                ("postings", postings),
                ("occurrences", occurrences),
                ("documents", documents),
            ):
                frame.sink_parquet(segment / f"{name}.parquet")
            pl.DataFrame(schema=ASSIGNMENTS_SCHEMA).write_parquet(segment / "clusters.parquet")
            self._cluster_documents_of(segment)
            commit.fsync_folder(segment)
        counts = pl.scan_parquet(segment / "occurrences.parquet").select(pl.len()).collect().item()
        docs = pl.scan_parquet(segment / "documents.parquet").select(pl.len()).collect().item()
        merged = Add(
            id=self.next_add_id(),
            name="compacted: " + ", ".join(add.name for add in self.adds[:5]) + (" …" if len(self.adds) > 5 else ""),
            time=now(),
            documents=docs,
            blocks=counts,
            texts=self.next_text,
            first_text=0,
            files={k: v for add in self.adds for k, v in add.files.items()},
        )
        manifest = self._manifest | {"adds": [dataclasses.asdict(merged)], "removed": []}
        with commit_errors(self.folder):
            staged_manifest = self._staged_manifest(manifest)
            commit.commit(
                [(segment, self.folder / ADDS / merged.id), (staged_manifest, self.folder / MANIFEST)], self.folder
            )
            for path in old:
                commit.remove(path)
        self._manifest, self.adds, self.removed_files = manifest, [merged], []
        return merged

    def _cluster_documents_of(self, segment: Path) -> None:
        """Documents per cluster of a merged segment, from its texts and occurrences."""
        texts = pl.scan_parquet(segment / "texts.parquet").select(TEXT, S.CLUSTER)
        (
            pl.scan_parquet(segment / "occurrences.parquet")
            .select(TEXT, S.DOC_ID)
            .join(texts, on=TEXT)
            .filter(pl.col(S.CLUSTER) >= 0)
            .group_by(S.CLUSTER)
            .agg(pl.col(S.DOC_ID).n_unique().cast(pl.Int64).alias(S.N_DOCS))
            .sink_parquet(segment / "cluster_documents.parquet")
        )

    def lean_minhashes(self) -> Iterator[tuple[int, Any]]:
        """Every near text that can still take others, as (text number, datasketch ``LeanMinHash``): the
        signatures dedup matches with, for a datasketch ``MinHashLSH`` (in Redis, say).

        Raises:
            ImportError: datasketch is not installed.
        """
        from datasketch import LeanMinHash

        options = ScanOptions(**{k: v for k, v in _options(self.settings).items()})
        for batch in self.scan("texts").filter(pl.col(S.SHINGLES).is_not_null()).collect().iter_slices(10_000):
            values, offsets = list_values(batch[S.SHINGLES])
            signatures = fingerprint_signatures(ShingleSets(values.astype(np.uint32), offsets), options)
            for text, row in zip(batch[TEXT].to_list(), signatures, strict=True):
                yield text, LeanMinHash(seed=options.minhash.seed, hashvalues=row, scheme=options.minhash.scheme)

    # ------------------------------------------------------------------ reports

    def info(self) -> dict[str, Any]:
        """Documents, blocks, adds, bytes on disk per block, settings."""
        on_disk = sum(path.stat().st_size for path in self.folder.rglob("*") if path.is_file())
        blocks = sum(add.blocks for add in self.adds)
        removed = self.removed_ids().select(pl.len()).collect().item()
        return {
            "index": str(self.folder),
            "adds": [{"name": a.name, "time": a.time, "documents": a.documents, "blocks": a.blocks} for a in self.adds],
            "documents": sum(add.documents for add in self.adds),
            "blocks": blocks,
            "texts": self.next_text,
            "removed_documents": removed,
            "bytes_on_disk": on_disk,
            "bytes_per_block": round(on_disk / blocks, 1) if blocks else None,
            "settings": self.settings,
            "banding": list(self.banding),
        }


def _options(settings: dict[str, Any]) -> dict[str, Any]:
    """The recorded matching options as ``ScanOptions`` arguments."""
    from dedup.output import options_from_dict

    defaults = dataclasses.asdict(ScanOptions())
    chosen = options_from_dict({**defaults, **settings})
    return {name: getattr(chosen, name) for name in MATCHING_OPTIONS}


def fingerprint_signatures(sets: ShingleSets, options: ScanOptions) -> np.ndarray:
    from dedup.fingerprint import signatures

    return signatures(sets, options.minhash)


def _difference(name: str, recorded: Any, given: Any) -> str:
    """The first setting that differs, as ``lsh.threshold=0.5 (this scan: 0.8)``."""
    if isinstance(recorded, dict) and isinstance(given, dict):
        for key in sorted(recorded):
            if recorded[key] != given.get(key):
                return f"{name}.{key}={recorded[key]!r} (this scan: {given.get(key)!r})"
    return f"{name}={recorded!r} (this scan: {given!r})"


@contextmanager
def commit_errors(folder: Path) -> Iterator[None]:
    """An ``OSError`` while writing the index is an ``OutputError`` naming it."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"{exc.filename or folder}: cannot write the index ({exc.strerror or exc})") from exc


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def read_ids(path: str | Path) -> list[str]:
    """Document ids to remove, one per line (blank lines left out).

    Raises:
        InputError: the file cannot be read.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the ids ({exc})") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]
