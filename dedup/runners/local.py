"""The local runner: a scan on one machine, in memory bounded by design.

Per batch (about ``ScanOptions.batch_chars`` characters), on worker threads, one batch per core: the
per-batch stage (``dedup.stage.fingerprint_batch``), then the spill of the batch's block rows,
shingle hashes and band keys to a private folder. In read order, on the calling thread: each block's
distinct text (``runners.corpus.DistinctTexts``), the only corpus-wide state kept in memory.

After the last batch, every corpus-wide step streams or works a partition at a time:

- candidates: one band at a time over every near text, the pairs spilled into partitions by their
  first node (``spill.PairSpill``);
- verification: a partition at a time, reading back only the shingle hashes of the paired texts;
- clusters: the verified pairs stream through ``cluster.CentreAssignment`` in sorted order;
- tables: a batch's blocks at a time, each written as it is made (``runners.tables``).

Nothing is held per block between batches, and nothing grows with how often a text repeats: memory
grows with the distinct texts and the documents, plus what a batch, a band or a partition needs.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue
from typing import TypeVar

import numpy as np
import polars as pl

from dedup import candidates, cluster, commit, output, sources, stage
from dedup import schema as S
from dedup._arrow import distinct_sorted, list_values
from dedup._version import dedup_version
from dedup.commit import sweep_temporary_folders
from dedup.formats.memory import MemoryInput
from dedup.index import TEXT, Add, Index, file_hash, passed_over
from dedup.index import commit_errors as index_errors
from dedup.options import ScanOptions
from dedup.result import ScanResult, ScanStats
from dedup.runners import scan_folders, tables
from dedup.runners.corpus import BatchKeys, DistinctTexts
from dedup.runners.indexed import IndexMatcher, Matched, new_texts, write_segment
from dedup.runners.tables import IndexMatches
from dedup.spill import ArrayStore, BandStore, PairSpill, PartStore, ScratchFolder, SetStore

_Result = TypeVar("_Result")
Edges = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # verified pairs: left, right, jaccard, containment


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    """Add the scanned documents to the index as an add of this name and time.

    A file whose content an earlier add brought is passed over (a run over many shards that died half-way
    resumes by running it again); ``files`` collects the content hash of every file read.
    """

    name: str
    time: str
    added: dict[str, str]  # content hash -> the add that brought it
    files: dict[str, str] = field(default_factory=dict)

    def passed_over(self, path: Path, name: str) -> sources.Skip | None:
        """Why a file is not read again, or ``None``; remembers the hash of a file that is read."""
        try:
            digest = file_hash(path)
        except OSError:
            return None  # the reader reports it
        skip = passed_over(name, digest, self.added)
        if skip is None:
            self.files[name] = digest
        return skip


MAX_WORKERS = 8  # every batch in flight holds its text and working arrays: memory grows with the workers
PAIR_BYTES = 16  # a candidate pair spilled: two int64 node numbers
MIN_PARALLEL_PAIR_BYTES = 2**22  # below about 250,000 candidate pairs, verifying on one core is faster
SPILL_HINT = " (the scan's spill folder; set TMPDIR to a folder on a disk with more room)"

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: a stage has done ``done`` of ``total`` units (``None``: not known yet).

Stages and units, in order: ``read`` (documents), ``fingerprint`` (blocks), ``lsh`` (bands), ``verify``
(partitions of candidate pairs), ``cluster`` (partitions), ``tables`` (batches of blocks). Each stage is
reported at least once when it starts and once with ``done == total`` when it ends. ``read`` is reported
from the thread that reads ahead, the others from the caller's thread.
"""
PROGRESS_SECONDS = 0.1  # how often reading reports; a call per document would cost more than the reading


def workers() -> int:
    """Batches fingerprinted at once: one per CPU this process may run on (its affinity, as in a container)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


def in_order(
    pool: ThreadPoolExecutor, work: Callable[[int], _Result], items: Iterable[int], window: int
) -> Iterator[_Result]:
    """``pool.map(work, items)`` with at most ``window`` results waiting: memory holds a few partitions'
    results, not all of them, when the consumer is slower than the workers."""
    pending: deque[Future[_Result]] = deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _silent(stage_name: str, done: int, total: int | None) -> None:
    """The progress hook of a scan nobody watches."""


def scan(
    paths: Sequence[str | Path | MemoryInput],
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
    index: Index | None = None,
    update: IndexUpdate | None = None,
) -> ScanResult:
    """Find exact and near-duplicate blocks in documents, on this machine.

    Args:
        paths: folders, files or glob patterns, and in-memory inputs (see ``dedup.sources``).
        options: every stage's options; defaults work for scraped pages.
        progress: called with counts per batch and per stage (see ``Progress``); the scan itself prints nothing.
        out: a folder to write the tables and ``scan.json`` to; without it they go to a private
            folder that lives as long as the result.
        index: an index of earlier data (``dedup.index``): the blocks are clustered as if scanned after
            it, and what they repeat of it is the ``matches`` table.
        update: add the documents to ``index`` as its next add, with this name and the files' hashes.

    Returns:
        The blocks, pairs, clusters and documents tables (read from their files when used), with statistics.

    Raises:
        InputError: a path that does not exist.
        NoDocumentsError: the inputs held no document.
        OutputError: ``out`` is not a folder, is an input or lies in one (checked before reading anything),
            or it or the spill folder cannot be written.
    """
    options = options or ScanOptions()
    sweep_temporary_folders()
    with (
        scan_folders(out, paths) as (folder, private, scratch),
        output.writing(folder) as staged,
        index.writing() if update and index else nullcontext(),
    ):
        if index is not None:
            index.check_options(options)
        result = _LocalScan(paths, options, scratch, progress or _silent, index, update).run(staged)
        result.folder = private
        return result


_DONE = object()


def _prefetch(items: Iterator[pl.DataFrame], kernels_loaded: threading.Event | None = None) -> Iterator[pl.DataFrame]:
    """Produce the next batch on a background thread while this one is processed.

    Reading and parsing are Python code that holds the GIL, while the stages spend their time in polars
    and in compiled kernels that release it, so the two overlap. Order and errors are passed through.

    With ``kernels_loaded``, the reader stops after the first batch until it is set: loading the kernels
    holds the GIL too, and the first batch waits for both, so reading further ahead would only slow it.
    """
    queue: Queue[object] = Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for count, item in enumerate(items):
                if not offer(item):
                    return
                while count == 0 and kernels_loaded is not None and not kernels_loaded.wait(0.1):
                    if stop.is_set():
                        return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(exc)

    thread = threading.Thread(target=produce, name="dedup-reader", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _counted(
    documents: Iterable[sources.Document | sources.DocumentFrame], progress: Progress
) -> Iterator[sources.Document | sources.DocumentFrame]:
    """Pass documents through, reporting how many were read every ``PROGRESS_SECONDS``."""
    last = time.perf_counter()
    count = 0
    for item in documents:
        count += item.frame.height if isinstance(item, sources.DocumentFrame) else 1
        if time.perf_counter() - last >= PROGRESS_SECONDS:
            progress("read", count, None)
            last = time.perf_counter()
        yield item


@dataclass(slots=True)
class _Clock:
    """Wall and CPU time per stage (stages of different batches overlap on workers, so they add up to more
    than the scan's wall time: they say where the work goes), and the peak RSS by the end of each stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
            with self.lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - wall
                self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), peak)


@dataclass(frozen=True, slots=True)
class _Spills:
    """What workers spill and the corpus-wide steps read back."""

    parts: PartStore
    sets: SetStore
    bands: BandStore
    distinct: ArrayStore  # the distinct text of every block (-1: unmatchable), written in read order


_PART_COLUMNS = [
    S.DOC_KEY, S.BLOCK, S.START, S.END, S.LINE, S.SOURCE_LINE, S.SOURCE_COLUMN, S.TEXT, S.SHORT, S.EXACT_HASH,
]  # fmt: skip

_WARM_UP_TEXTS = (
    "A paragraph of a few plain words, enough to be shingled.\n\nRegie\n- Jacques Audiard\n2. a numbered item",
    "Straße, Ünïcode und 漢字 — the other paths of normalization.",
)


class _LocalScan:
    """One scan's state and phases."""

    def __init__(
        self,
        paths: Sequence[str | Path | MemoryInput],
        options: ScanOptions,
        scratch: ScratchFolder,
        report: Progress,
        index: Index | None = None,
        update: IndexUpdate | None = None,
    ):
        self.paths, self.options, self.report = paths, options, report
        self.index, self.update = index, update
        self.scratch = scratch
        self.banding = candidates.banding(options.lsh, options.minhash.num_perm)
        root = scratch.path
        self.spills = _Spills(
            PartStore(root), SetStore(root), BandStore(root, self.banding[0]), ArrayStore(root, "distinct")
        )
        self.read_stats = sources.ReadStats()
        self.clock = _Clock()
        self.workers = workers()
        self.distinct = DistinctTexts()
        self.documents: list[pl.DataFrame] = []  # doc_key, doc_id, source, source_line of every batch
        self.n_documents = self.n_blocks = 0

    @contextmanager
    def _spilling(self) -> Iterator[None]:
        with output.output_errors(self.scratch.path, SPILL_HINT):
            yield

    def run(self, staged: output.StagedFiles) -> ScanResult:
        self._fingerprint_all()
        sources.require_documents(self.read_stats, self.paths)
        with self._spilling():
            pairs = self._candidates()
            centres, candidate_count, verified_count, edges = self._verify_and_cluster(pairs)
        matches = None
        with self.clock.stage("index"):
            if self.index is not None:
                matched = IndexMatcher(
                    self.index, self.options, self.distinct, self.spills.sets, self.spills.bands
                ).match(edges)
                centres, numbers, split = matched.centres, matched.numbers, matched.components_split
                matches = IndexMatches(matched, self._first_occurrences(matched))
        with self.clock.stage("tables"):
            if matches is None:
                numbers = cluster.cluster_numbers(
                    self.distinct.count.values, self.distinct.near_distinct.values, centres
                )
                split = centres.components_split()
            stats = ScanStats(
                files=self.read_stats.files,
                documents=self.n_documents,
                blocks=self.n_blocks,
                near_blocks=self.distinct.near_count,
                candidate_pairs=candidate_count,
                verified_pairs=verified_count,
                bands=self.banding[0],
                rows=self.banding[1],
                components_split=split,
                skips=self.read_stats.skips,
                warnings=self.read_stats.warnings,
                seconds=self.clock.seconds,
                cpu_seconds=self.clock.cpu_seconds,
                peak_rss=self.clock.peak_rss,
            )
            settings = output.settings_of(self.options, *self.banding, dedup_version())
            writer = tables.TableWriter(
                spills=tables.Spilled(self.spills.parts, self.spills.distinct, self.scratch.path),
                distinct=self.distinct,
                centres=centres,
                numbers=numbers,
                documents=pl.concat(self.documents),
                metadata=output.parquet_metadata(settings),
                report=self.report,
                matches=matches,
            )
            with self._spilling():
                writer.write(staged, threads=self.workers)
            names = [*output.TABLES, *([tables.MATCHES] if matches is not None else [])]
            result = ScanResult(
                files={name: staged.path(output.table_file(name)) for name in names},
                stats=stats,
                options=self.options,
            )
            output.stage_summary(staged, result.saved())
            with output.output_errors(staged.folder):
                staged.commit()
        result.files = {name: staged.folder / output.table_file(name) for name in names}
        if self.update is not None and matches is not None and self.index is not None:
            with self.clock.stage("index"):
                self._add_to_index(self.index, self.update, matches.matched)
        return result

    def _first_occurrences(self, matched: Matched) -> pl.DataFrame:
        """Where each index text the scan matched first stands, its columns named as in the matches table."""
        assert self.index is not None
        found = self.index.first_occurrences(distinct_sorted(matched.text[matched.text >= 0]))
        return found.select(
            pl.col(TEXT).alias("index_text"),
            pl.col(S.DOC_ID).alias("index_doc_id"),
            pl.col(S.BLOCK).alias("index_block"),
            pl.col(S.START).alias("index_start"),
            pl.col(S.END).alias("index_end"),
            pl.col(S.LINE).alias("index_line"),
            pl.col("name").alias("index_add"),
            pl.col("time").alias("index_added_at"),
        )

    def _add_to_index(self, idx: Index, update: IndexUpdate, matched: Matched) -> None:
        """The scanned documents become the index's next add (the caller holds the index as its writer)."""
        texts = new_texts(idx, self.distinct, matched)
        segment = idx.new_segment()
        with index_errors(idx.folder):
            spilled = (self.spills.parts, self.spills.distinct, self.spills.sets, self.spills.bands)
            documents, blocks = write_segment(segment, idx, self.distinct, texts, spilled, pl.concat(self.documents))
            commit.fsync_folder(segment)
        add = Add(
            id=idx.next_add_id(),
            name=update.name,
            time=update.time,
            documents=documents,
            blocks=blocks,
            texts=int(np.count_nonzero(texts.new)),
            first_text=idx.next_text,
            files=update.files,
        )
        idx.commit_add(segment, add)

    # ------------------------------------------------------------------ batches

    def _fingerprint_all(self) -> None:
        """Read, fingerprint and spill every batch; fold each into the corpus state in read order."""
        self.report("read", 0, None)
        self.report("fingerprint", 0, None)
        # Counted on the reading thread (see _prefetch): the hook must be safe to call from another thread.
        passed_over = self.update.passed_over if self.update is not None else None
        runs = sources.read_runs(self.paths, self.options.read, self.read_stats, passed_over)
        documents = _counted(runs, self.report)
        kernels_loaded = threading.Event()
        batches = _prefetch(sources.batches(documents, self.options.batch_chars), kernels_loaded)
        in_flight: deque[Future[tuple[int, BatchKeys]]] = deque()
        in_flight_limit = self.workers + 1  # one more waits its turn, so a worker never idles while one is folded in
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dedup-batch") as pool:
            warm_up = pool.submit(self._warm_up, kernels_loaded)
            number = 0
            while True:
                with self.clock.stage("read"):
                    batch = next(batches, None)
                if batch is None:
                    break
                batch = batch.with_row_index(S.DOC_KEY, offset=self.n_documents).with_columns(
                    pl.col(S.DOC_KEY).cast(pl.Int64)
                )
                self.documents.append(batch.select(S.DOC_KEY, S.DOC_ID, S.SOURCE, S.SOURCE_LINE))
                self.n_documents += batch.height
                in_flight.append(pool.submit(self._fingerprint_batch, batch, number))
                number += 1
                while len(in_flight) >= in_flight_limit or (in_flight and in_flight[0].done()):
                    self._absorb(*in_flight.popleft().result())
            while in_flight:
                self._absorb(*in_flight.popleft().result())
            warm_up.result()  # raises what it raised, if anything
        self.report("read", self.n_documents, self.n_documents)
        self.report("fingerprint", self.n_blocks, self.n_blocks)

    def _warm_up(self, done: threading.Event) -> None:
        """Run the stage once on a tiny batch, so that every compiled kernel is loaded.

        Numba loads a kernel from its cache at the first call, about 0.3 s for all of them once per
        process; done on a worker while the first batch is read, that overlaps the reading.
        """
        try:
            stage.fingerprint_batch(pl.DataFrame({S.DOC_KEY: [0, 1], S.TEXT: list(_WARM_UP_TEXTS)}), self.options)
        finally:
            done.set()

    def _fingerprint_batch(self, batch: pl.DataFrame, number: int) -> tuple[int, BatchKeys]:
        """The stage on one batch, and the spill of what the corpus-wide steps read back: a function of the batch."""
        with self.clock.stage("fingerprint"):
            blocks = stage.fingerprint_batch(batch, self.options)
        with self.clock.stage("spill"), self._spilling():
            self.spills.parts.write(number, blocks.select(_PART_COLUMNS))
            hashes, offsets = list_values(blocks[S.SHINGLES])
            self.spills.sets.write(number, hashes, offsets)
            keys, _ = list_values(blocks[S.BAND_KEYS])
            self.spills.bands.write(number, keys.reshape(-1, self.banding[0]))
        return number, BatchKeys(
            doc_key=blocks[S.DOC_KEY].to_numpy(),
            block=blocks[S.BLOCK].to_numpy(),
            line=blocks[S.LINE].to_numpy(),
            exact=blocks[S.EXACT_HASH].to_numpy(),
            matchable=blocks[S.MATCHABLE].to_numpy(),
            near_candidate=blocks[S.NEAR_CANDIDATE].to_numpy(),
        )

    def _absorb(self, number: int, keys: BatchKeys) -> None:
        """Fold a fingerprinted batch into the corpus state, in read order."""
        with self.clock.stage("absorb"), self._spilling():
            distinct = self.distinct.add(keys, self.n_blocks, self.spills.sets.first_slot(number))
            self.spills.distinct.write(number, distinct)
        self.n_blocks += keys.exact.size
        self.report("fingerprint", self.n_blocks, None)

    # ---------------------------------------------------------------- near pairs

    def _candidates(self) -> PairSpill:
        """Candidate pairs of near texts, a band at a time, spilled into partitions by their first node."""
        bands = self.banding[0]
        nodes = self.distinct.near_count
        slots = self.distinct.near_slot.values
        max_bucket = self.options.lsh.max_bucket_pairs
        self.report("lsh", 0, bands)
        with self.clock.stage("candidates"):
            first = candidates.band_pairs(self.spills.bands.band(0, slots), max_bucket)
            # Partitions sized for the budget from the first band: every band finds about as many pairs.
            expected = first[0].size * bands * PAIR_BYTES
            partitions = int(np.ceil(expected / self.options.partition_bytes))
            # Enough partitions to verify on every core, unless there are too few pairs to be worth it.
            if expected >= MIN_PARALLEL_PAIR_BYTES:
                partitions = max(partitions, 2 * self.workers)
            partitions = int(np.clip(partitions, 1, 4096))
            pairs = PairSpill(self.scratch.path, nodes, partitions)
            pairs.add(*first)
            del first

            def one_band(band: int) -> None:
                pairs.add(*candidates.band_pairs(self.spills.bands.band(band, slots), max_bucket))

            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dedup-lsh") as pool:
                for done, _ in enumerate(pool.map(one_band, range(1, bands)), start=2):
                    self.report("lsh", done, bands)
        self.report("lsh", bands, bands)
        return pairs

    def _verify_and_cluster(self, pairs: PairSpill) -> tuple[cluster.CentreAssignment, int, int, Edges]:
        """Verify every partition of candidates on the real shingle sets, and stream the verified pairs,
        in order, into the near clusters. With an index, the verified pairs are returned too: they are
        clustered again with the index's (``runners.indexed``)."""
        slots = self.distinct.near_slot.values
        centres = cluster.CentreAssignment(self.distinct.near_count)
        counts = [0, 0]
        kept: list[tuple[np.ndarray, ...]] = []

        def verify(part: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            with self.clock.stage("verify"):
                left, right = pairs.read(part)
                jaccard, containment = cluster.read_similarities(self.spills.sets.take, slots[left], slots[right])
                keep = cluster.accepted(jaccard, containment, self.options.lsh)
                return left.size, left[keep], right[keep], jaccard[keep], containment[keep]

        self.report("verify", 0, pairs.partitions)
        self.report("cluster", 0, pairs.partitions)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dedup-verify") as pool:
            # Partitions are verified a worker each, and taken in order: the clusters need the pairs sorted.
            verified_parts = in_order(pool, verify, range(pairs.partitions), window=self.workers + 1)
            for part, (candidate_count, *verified) in enumerate(verified_parts):
                with self.clock.stage("cluster"):
                    centres.add(*verified)
                if self.index is not None:
                    kept.append(tuple(verified))
                counts[0] += int(candidate_count)
                counts[1] += int(verified[0].size)
                self.report("verify", part + 1, pairs.partitions)
                self.report("cluster", part + 1, pairs.partitions)
        edges: Edges = tuple(  # type: ignore[assignment]
            np.concatenate([np.zeros(0, dtype), *(part[k] for part in kept)])
            for k, dtype in enumerate((np.int64, np.int64, np.float64, np.float64))
        )
        return centres, counts[0], counts[1], edges
