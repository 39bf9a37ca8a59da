"""Run the stages in order over batches and collect the result tables.

Per batch (bounded by ``ScanOptions.batch_chars``), on a worker thread, one
batch per core: segment, normalize, exact keys, shingle hashes and signatures
of the blocks that need them, and the spill of the batch's block rows and
shingle hashes to a temporary folder. In read order, on the calling thread:
first occurrences across the corpus. What is kept between batches grows with
the number of blocks only: a few numbers per block and the band keys of the
blocks that take part in near matching. After the last batch: candidate pairs,
verification (reading back only the hashes of blocks in candidate pairs),
clusters, and the result tables.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue

import numpy as np
import polars as pl

from dedup import candidates, cluster, documents, fingerprint, sources
from dedup import schema as S
from dedup.normalize import normalize_texts
from dedup.options import ScanOptions
from dedup.result import (
    ScanResult,
    ScanStats,
    StagedFiles,
    dedup_version,
    finish_outputs,
    parquet_metadata,
    prepared_folder,
    settings_of,
    write_blocks,
    write_tables,
)
from dedup.segment import segment_with_texts
from dedup.store import PartStore, ScratchFolder, SetStore

GID = "gid"  # global block number, in read order
MAX_WORKERS = 8  # every batch in flight holds its text and working arrays: memory grows with the workers


def _workers() -> int:
    """Batches fingerprinted at once: one per CPU this process may run on (its affinity, as in a container)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: a stage has done ``done`` of ``total`` units (``None``: not known yet).

Stages and units, in order: ``read`` (documents), ``fingerprint`` (blocks), ``lsh`` (blocks that take part in
near matching), ``verify`` (candidate pairs), ``cluster`` (blocks), ``tables`` (blocks). Each stage is reported
at least once when it starts and once with ``done == total`` when it ends. ``read`` is reported from the
thread that reads ahead, the others from the caller's thread.
"""
PROGRESS_SECONDS = 0.1  # how often reading reports; a call per document would cost more than the reading


def _silent(stage: str, done: int, total: int | None) -> None:
    """The progress hook of a scan nobody watches."""


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
class _Accumulator:
    """What the pipeline keeps between batches: numbers per block, not text."""

    doc_index: list[np.ndarray] = field(default_factory=list)
    block: list[np.ndarray] = field(default_factory=list)
    line: list[np.ndarray] = field(default_factory=list)
    n_chars: list[np.ndarray] = field(default_factory=list)
    short: list[np.ndarray] = field(default_factory=list)
    first: list[np.ndarray] = field(default_factory=list)
    near_ids: list[np.ndarray] = field(default_factory=list)
    near_slots: list[np.ndarray] = field(default_factory=list)  # where their shingle hashes are in the set store
    near_keys: list[np.ndarray] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the wall and CPU time (all threads) of the block to the stage's totals.

        Stages of different batches overlap on worker threads, so per-stage times add up to more than
        the scan's wall time; they say where the work goes, not how long one waited.
        """
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            with self.lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - wall
                self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu

    @staticmethod
    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def scan(
    paths: Sequence[str | Path],
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    out: str | Path | None = None,
) -> ScanResult:
    """Find exact and near-duplicate blocks in documents.

    Args:
        paths: folders, files or glob patterns (see ``dedup.sources``).
        options: every stage's options; defaults work for scraped pages.
        progress: called with counts per batch and per stage (see ``Progress``); the scan itself prints nothing.
        out: a folder to write the tables and ``scan.json`` to, the files of ``ScanResult.write``; the
            blocks table is written while the others are built, which saves most of its time on two cores.

    Returns:
        The blocks, pairs, clusters and documents tables, with statistics.

    Raises:
        InputError: a path that does not exist.
        NoDocumentsError: the inputs held no document.
        OutputError: ``out`` is not a folder or cannot be written (checked before reading anything).
    """
    options = options or ScanOptions()
    staged = None if out is None else StagedFiles(prepared_folder(out))
    scratch = ScratchFolder()
    try:
        return _scan(paths, options, scratch, progress or _silent, staged)
    except BaseException:
        scratch.close()
        raise
    finally:
        if staged is not None:
            staged.discard()  # what a failure left half-written; nothing after the commit


_DONE = object()


def _prefetch(items: Iterator[pl.DataFrame], kernels_loaded: threading.Event | None = None) -> Iterator[pl.DataFrame]:
    """Produce the next batch on a background thread while this one is processed.

    Reading and parsing are Python code that holds the GIL, while the stages
    spend their time in polars and in compiled kernels that release it, so the
    two overlap on two cores. Order and errors are passed through unchanged.

    With ``kernels_loaded``, the reader stops after the first batch until it is
    set: loading the kernels holds the GIL too, and the first batch waits for
    both, so reading further ahead then would only slow the loading down.
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


def _timed(items: Iterator[pl.DataFrame], acc: _Accumulator, stage: str) -> Iterator[pl.DataFrame]:
    """Yield from an iterator, counting the time spent producing each item."""
    while True:
        with acc.stage(stage):
            item = next(items, None)
        if item is None:
            return
        yield item


def _scan(
    paths: Sequence[str | Path],
    options: ScanOptions,
    scratch: ScratchFolder,
    report: Progress,
    staged: StagedFiles | None,
) -> ScanResult:
    bands, rows = candidates.banding(options.lsh, options.minhash.num_perm)
    set_store, part_store = SetStore(scratch.path), PartStore(scratch.path)
    read_stats = sources.ReadStats()
    acc = _Accumulator()
    doc_frames: list[pl.DataFrame] = []
    first_seen = fingerprint.FirstOccurrences()
    n_docs = n_blocks = 0

    report("read", 0, None)
    report("fingerprint", 0, None)
    # Counted on the reading thread (see _prefetch): the hook must be safe to call from another thread.
    documents_iter = _counted(sources.read_runs(paths, options.read, read_stats), report)
    kernels_loaded = threading.Event()
    batches = _prefetch(sources.batches(documents_iter, options.batch_chars), kernels_loaded)
    # Batches are fingerprinted a worker per CPU on worker threads (the stages release the GIL) and
    # folded into the corpus state in read order on this thread, which keeps the result deterministic.
    in_flight: deque[Future[_BatchPrints]] = deque()
    workers = _workers()
    in_flight_limit = workers + 1  # one more waits its turn, so a worker never idles while this thread folds one in
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dedup-batch") as pool:
        warm_up = pool.submit(_warm_up, options, (bands, rows), kernels_loaded)
        for number, batch in enumerate(_timed(batches, acc, "read")):
            batch = batch.with_row_index(S.DOC_INDEX, offset=n_docs).with_columns(pl.col(S.DOC_INDEX).cast(pl.Int64))
            doc_frames.append(batch.select(S.DOC_INDEX, S.DOC_ID, S.SOURCE, S.SOURCE_LINE))
            n_docs += batch.height
            work = _BatchWork(batch, number, options, (bands, rows), _Spills(part_store, set_store), acc)
            in_flight.append(pool.submit(_fingerprint_batch, work))
            while len(in_flight) >= in_flight_limit or (in_flight and in_flight[0].done()):
                n_blocks += _absorb(in_flight.popleft().result(), n_blocks, first_seen, set_store, acc)
                report("fingerprint", n_blocks, None)
        while in_flight:
            n_blocks += _absorb(in_flight.popleft().result(), n_blocks, first_seen, set_store, acc)
            report("fingerprint", n_blocks, None)
        warm_up.result()  # raises what it raised, if anything
    report("read", n_docs, n_docs)
    report("fingerprint", n_blocks, n_blocks)
    sources.require_documents(read_stats, paths)

    with acc.stage("candidates"):
        near_ids = acc.joined(acc.near_ids, np.int64)
        report("lsh", 0, near_ids.size)
        slot_left, slot_right = candidates.candidate_pairs(
            acc.near_keys, np.arange(near_ids.size), options.lsh.max_bucket_pairs, threads=workers
        )
        report("lsh", near_ids.size, near_ids.size)

    with acc.stage("verify"):
        report("verify", 0, slot_left.size)
        near_slots = acc.joined(acc.near_slots, np.int64)
        jaccard, containment = cluster.read_similarities(
            set_store.take, near_slots[slot_left], near_slots[slot_right], threads=workers
        )
        keep = cluster.accepted(jaccard, containment, options.lsh)
        report("verify", slot_left.size, slot_left.size)

    with acc.stage("cluster"):
        report("cluster", 0, n_blocks)
        ids = np.arange(n_blocks, dtype=np.int64)
        first = acc.joined(acc.first, np.int64)
        exact_left, exact_right = first[first != ids], ids[first != ids]
        near_left, near_right = near_ids[slot_left[keep]], near_ids[slot_right[keep]]
        nodes, labels = cluster.components(
            n_blocks, np.concatenate((exact_left, near_left)), np.concatenate((exact_right, near_right))
        )
        block_cluster = np.full(n_blocks, -1, dtype=np.int64)
        block_cluster[nodes] = labels
        report("cluster", n_blocks, n_blocks)

    with acc.stage("tables"):
        report("tables", 0, n_blocks)
        docs = pl.concat(doc_frames)
        numbers = pl.DataFrame(
            {
                GID: ids,
                S.DOC_INDEX: acc.joined(acc.doc_index, np.int64),
                S.BLOCK: acc.joined(acc.block, np.int32),
                S.LINE: acc.joined(acc.line, np.int32),
                S.N_CHARS: acc.joined(acc.n_chars, np.int64),
                S.SHORT: acc.joined(acc.short, bool),
                S.CLUSTER: block_cluster,
            }
        ).with_columns(pl.col(S.CLUSTER).replace(-1, None))
        result_blocks = _final_blocks(part_store, numbers[S.CLUSTER], docs[S.DOC_ID])
        metadata = parquet_metadata(settings_of(options, bands, rows, dedup_version()))
        # With an output folder, blocks.parquet (most of the writing) is streamed out while the other
        # tables are built, and they are written while it still streams: each alone leaves a core idle.
        writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dedup-write")
        try:
            writes = [] if staged is None else [writer.submit(write_blocks, staged, result_blocks, metadata)]
            # Three independent tables, built at once: polars and the kernels release the GIL.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dedup-tables") as pool:
                near_clusters = np.unique(block_cluster[near_left])
                clusters_future = pool.submit(_clusters, numbers, docs, near_clusters, part_store)
                documents_future = pool.submit(documents.roll_up, numbers, docs)
                pair_frame = _pairs(
                    numbers,
                    docs,
                    exact=(exact_left, exact_right),
                    near=(near_left, near_right, jaccard[keep], containment[keep]),
                )
                clusters, doc_table = clusters_future.result(), documents_future.result()
            result = ScanResult(
                blocks_lazy=result_blocks,
                pairs=pair_frame,
                clusters=clusters,
                documents=doc_table,
                stats=ScanStats(
                    files=read_stats.files,
                    documents=n_docs,
                    blocks=n_blocks,
                    near_blocks=int(near_ids.size),
                    candidate_pairs=int(slot_left.size),
                    verified_pairs=int(keep.sum()),
                    bands=bands,
                    rows=rows,
                    skips=read_stats.skips,
                    warnings=read_stats.warnings,
                    seconds=acc.seconds,
                    cpu_seconds=acc.cpu_seconds,
                ),
                options=options,
                scratch=scratch,
            )
            if staged is not None:
                writes.append(writer.submit(write_tables, staged, result.tables_but_blocks(), metadata))
            report("tables", n_blocks, n_blocks)
        finally:
            writer.shutdown(wait=True)  # on an error too: the sink reads the spill folder

    if staged is not None:
        with acc.stage("write"):
            for written in writes:
                written.result()  # raises what the writer raised
            finish_outputs(staged, result)
    return result


@dataclass(frozen=True, slots=True)
class _BatchWork:
    """One batch and what its worker needs."""

    batch: pl.DataFrame
    number: int  # in read order
    options: ScanOptions
    banding: tuple[int, int]
    spills: _Spills | None  # None: nothing to spill (the warm-up)
    acc: _Accumulator


@dataclass(frozen=True, slots=True)
class _Spills:
    """Where workers spill what the rest of the scan reads back: block rows and shingle hashes."""

    parts: PartStore
    sets: SetStore


@dataclass(slots=True)
class _BatchPrints:
    """What a batch yields on its own, before it meets the rest of the corpus."""

    number: int
    doc_index: np.ndarray
    block: np.ndarray
    line: np.ndarray
    n_chars: np.ndarray
    exact: np.ndarray  # exact key of every block
    short: np.ndarray
    matchable: np.ndarray  # blocks with any text to match
    candidates: np.ndarray  # blocks that may take part in near matching: long, first of their text in the batch
    keys: np.ndarray  # band keys of the candidates (their shingle hashes are spilled)


_WARM_UP_TEXTS = (
    "A paragraph of a few plain words, enough to be shingled.\n\nRegie\n- Jacques Audiard\n2. a numbered item",
    "Straße, Ünïcode und 漢字 — the other paths of normalization.",
)


def _warm_up(options: ScanOptions, banding: tuple[int, int], done: threading.Event) -> None:
    """Run the batch stages once on a tiny batch, so that every compiled kernel is loaded.

    Numba loads a kernel from its cache at the first call, about 0.3 s for all of them once per
    process; done on a worker while the first batch is read, that time overlaps the reading
    instead of holding up the first batches.
    """
    try:
        batch = pl.DataFrame({S.DOC_INDEX: [0, 1], S.TEXT: list(_WARM_UP_TEXTS)})
        _fingerprint_batch(_BatchWork(batch, 0, options, banding, None, _Accumulator()))
    finally:
        done.set()


def _fingerprint_batch(work: _BatchWork) -> _BatchPrints:
    """Segment, normalize and fingerprint one batch, and spill its block rows: a function of the batch alone."""
    options, acc = work.options, work.acc
    with acc.stage("segment"):
        blocks, block_texts = segment_with_texts(work.batch, options.segment)

    with acc.stage("normalize"):
        normalized = normalize_texts(block_texts)

    with acc.stage("fingerprint"):
        plan = fingerprint.shingle_plan(normalized, options.shingle)
        exact = fingerprint.exact_keys(normalized)
        matchable = plan.units > 0  # a block of only punctuation matches nothing
        short = plan.units < options.min_words
        first_in_batch = np.zeros(exact.size, dtype=bool)
        first_in_batch[np.unique(exact, return_index=True)[1]] = True
        near = matchable & ~short & first_in_batch
        sets = fingerprint.shingle_hashes(normalized.take(near), options.shingle, plan.take(near))
        keys = candidates.band_keys(fingerprint.signatures(sets, options.minhash), *work.banding)

    with acc.stage("spill"):
        if work.spills is not None:
            work.spills.parts.write(
                work.number,
                blocks.with_columns(pl.Series(S.SHORT, short), pl.Series(S.EXACT_HASH, exact, dtype=pl.UInt64)),
            )
            work.spills.sets.write(work.number, sets)
        return _BatchPrints(
            number=work.number,
            doc_index=blocks[S.DOC_INDEX].to_numpy(),
            block=blocks[S.BLOCK].to_numpy(),
            line=blocks[S.LINE].to_numpy(),
            n_chars=(blocks[S.END] - blocks[S.START]).to_numpy(),
            exact=exact,
            short=short,
            matchable=matchable,
            candidates=near,
            keys=keys,
        )


def _absorb(
    prints: _BatchPrints,
    first_gid: int,
    first_seen: fingerprint.FirstOccurrences,
    set_store: SetStore,
    acc: _Accumulator,
) -> int:
    """Fold a fingerprinted batch into the corpus state, in read order: first occurrences, numbers, spills."""
    height = prints.exact.size
    with acc.stage("absorb"):
        gids = np.arange(first_gid, first_gid + height, dtype=np.int64)
        first = gids.copy()
        matchable = prints.matchable
        first[matchable] = first_seen(prints.exact[matchable], gids[matchable])
        # A block takes part in near matching when it is the first of its text in the whole corpus;
        # that one is also the first in its batch, so it is among the candidates. Every candidate's
        # hashes were stored (a copy of only the kept ones would cost more than the disk it saves).
        near = prints.candidates & (first == gids)
        kept = near[prints.candidates]
        acc.near_slots.append(set_store.slots(prints.number)[kept])
        acc.near_keys.append(prints.keys[kept])
        acc.near_ids.append(gids[near])
        acc.doc_index.append(prints.doc_index)
        acc.block.append(prints.block)
        acc.line.append(prints.line)
        acc.n_chars.append(prints.n_chars)
        acc.short.append(prints.short)
        acc.first.append(first)
    return height


def _final_blocks(parts: PartStore, cluster_of: pl.Series, doc_ids: pl.Series) -> pl.LazyFrame:
    """The blocks table as a lazy scan of the spilled parts (in read order), memory bounded by a morsel.

    A part holds consecutive blocks, so its clusters are one slice of ``cluster_of``; document ids are
    looked up by document number. Both are plain expressions, so the streaming engine writes the table
    on every core without calling back into Python.
    """
    return pl.concat(
        [
            part.with_columns(
                pl.lit(cluster_of.slice(first, height)).alias(S.CLUSTER),
                pl.lit(doc_ids).gather(pl.col(S.DOC_INDEX)).alias(S.DOC_ID),
            ).select(list(S.BLOCKS_SCHEMA))
            for first, height, part in parts.parts()
        ]
    )


def _locate(numbers: pl.DataFrame, docs: pl.DataFrame, ids: np.ndarray, suffix: str) -> pl.DataFrame:
    """Document id, block and line of each block id, with a column suffix.

    By position: row ``i`` of ``numbers`` is block ``i`` and row ``d`` of ``docs`` is document ``d``.
    """
    located = numbers.select(S.DOC_INDEX, S.BLOCK, S.LINE, S.CLUSTER)[ids]
    return located.select(
        docs[S.DOC_ID].gather(located[S.DOC_INDEX]).alias(f"doc_{suffix}"),
        pl.col(S.BLOCK).alias(f"block_{suffix}"),
        pl.col(S.LINE).alias(f"line_{suffix}"),
        pl.col(S.CLUSTER),
    )


def _pairs(
    numbers: pl.DataFrame,
    docs: pl.DataFrame,
    exact: tuple[np.ndarray, np.ndarray],
    near: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> pl.DataFrame:
    """Verified pairs: each exact copy with its first occurrence, and every near pair."""
    left = np.concatenate((exact[0], near[0]))
    right = np.concatenate((exact[1], near[1]))
    is_near = np.concatenate((np.zeros(exact[0].size, bool), np.ones(near[0].size, bool)))
    jaccard = np.concatenate((np.ones(exact[0].size), near[2]))
    containment = np.concatenate((np.ones(exact[0].size), near[3]))
    order = np.lexsort((right, left))
    a = _locate(numbers, docs, left[order], "a")
    b = _locate(numbers, docs, right[order], "b").drop(S.CLUSTER)
    frame = pl.concat([a, b], how="horizontal").with_columns(
        pl.when(pl.Series(is_near[order])).then(pl.lit(S.NEAR)).otherwise(pl.lit(S.EXACT)).alias(S.KIND),
        pl.Series(S.JACCARD, jaccard[order]),
        pl.Series(S.CONTAINMENT, containment[order]),
    )
    return frame.select(list(S.PAIRS_SCHEMA)).cast(S.PAIRS_SCHEMA)  # type: ignore[arg-type]


def _clusters(numbers: pl.DataFrame, docs: pl.DataFrame, near_clusters: np.ndarray, parts: PartStore) -> pl.DataFrame:
    """One row per cluster, with its first occurrence as representative (positions as in ``_locate``)."""
    clustered = numbers.filter(pl.col(S.CLUSTER).is_not_null())
    summary = (
        clustered.group_by(S.CLUSTER)
        .agg(
            pl.len().alias(S.N_BLOCKS),
            pl.col(S.DOC_INDEX).n_unique().alias(S.N_DOCS),
            pl.col(S.SHORT).all().alias(S.SHORT),
            pl.col(S.N_CHARS).sum().alias(S.N_CHARS),
            pl.col(GID).min().alias(GID),
        )
        .sort(S.CLUSTER)
        .with_columns(
            pl.when(pl.col(S.CLUSTER).is_in(pl.Series(near_clusters).implode()))
            .then(pl.lit(S.NEAR))
            .otherwise(pl.lit(S.EXACT))
            .alias(S.KIND),
            pl.when(pl.col(S.N_DOCS) > 1).then(pl.lit(S.CROSS_DOC)).otherwise(pl.lit(S.WITHIN_DOC)).alias(S.SCOPE),
        )
    )
    representatives = summary[GID].to_numpy()
    order = np.argsort(representatives)
    texts = parts.take(S.TEXT, representatives[order])[np.argsort(order)]  # back in cluster order
    located = numbers.select(S.DOC_INDEX, S.BLOCK, S.LINE)[representatives]
    return (
        pl.concat([summary, located], how="horizontal")
        .with_columns(docs[S.DOC_ID].gather(located[S.DOC_INDEX]).alias(S.DOC_ID), texts.alias(S.TEXT))
        .select(list(S.CLUSTERS_SCHEMA))
        .cast(S.CLUSTERS_SCHEMA)  # type: ignore[arg-type]
    )
