"""Dead letters, rejections and replay (operators).

GET  /surat-mati                     dead letters by reason, rejections by code and hospital, the replay form
POST /surat-mati/pratinjau           the replay's dry run: what it would do; nothing is written
POST /surat-mati/putaran             the real run, in the background of this process; then its page
GET  /surat-mati/putaran/{run_id}    a run's progress (polled from the JSON API) and its report

The same use cases as `hub dlq list` and `hub replay` (hub.service.replay_runs): a run is recorded
and audited with the signed-in user and the reason, and `hub replay --resume RUN` continues it if
the console stopped before it ended.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.web import actor, back_to, desk, failed, language, render, viewer
from hub.errors import OperatorError
from hub.service.accounts import SignedIn
from hub.service.replay_runs import (
    KINDS,
    Group,
    JobState,
    PreviewTimedOut,
    RunReport,
    Selection,
    group_failures,
    newest_first,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["deadletters"])

VIEW, RUN = "deadletters.view", "replay.run"
CONSOLE_SOURCES = ("rejected", "dlq", "ids")
MOST_IDS = 500
SHOWN = 100  # rows of each list on the page (the groups count them all)
GROUPS_SHOWN = 100  # groups on the page, newest first (a national registry has thousands: code x hospital)
_ID_SPLIT = re.compile(r"[\s,;]+")

i18n.register(
    {
        "deadletters.title": ("Surat mati & penolakan", "Dead letters & rejections"),
        "deadletters.intro": (
            "Surat mati adalah pesan yang tidak dapat dibaca hub (tanpa pengirim yang terbaca); penolakan adalah "
            "pemberitahuan yang dijawab fatal-error. Setelah penyebabnya diperbaiki (misalnya data kependudukan), "
            "putar ulang pesannya: hub tidak pernah mencatat kelahiran dua kali.",
            "Dead letters are messages the hub could not read (no readable sender); rejections are notifications "
            "answered with fatal-error. Once the cause is fixed (the civil registry, for one), replay the messages: "
            "the hub never registers a birth twice.",
        ),
        "deadletters.total_letters": ("Surat mati", "Dead letters"),
        "deadletters.total_rejections": ("Penolakan", "Rejections"),
        "deadletters.groups": ("Menurut alasan dan rumah sakit", "By reason and hospital"),
        "deadletters.kind": ("Jenis", "Kind"),
        "deadletters.kind.dead_letter": ("Surat mati", "Dead letter"),
        "deadletters.kind.rejection": ("Penolakan", "Rejection"),
        "deadletters.reason": ("Alasan / kode", "Reason / code"),
        "deadletters.meaning": ("Arti", "Meaning"),
        "deadletters.count": ("Jumlah", "Count"),
        "deadletters.newest": ("Terbaru", "Newest"),
        "deadletters.no_sender": ("(pengirim tak terbaca)", "(no readable sender)"),
        "deadletters.replay_group": ("Putar ulang…", "Replay…"),
        "deadletters.recent_rejections": ("Penolakan terbaru", "Latest rejections"),
        "deadletters.recent_letters": ("Surat mati terbaru", "Latest dead letters"),
        "deadletters.codes": ("Kode", "Codes"),
        "deadletters.where": ("Posisi", "Where"),
        "deadletters.detail": ("Rincian", "Detail"),
        "deadletters.shown": ("Menampilkan {shown} dari {total}, terbaru dahulu.", "{shown} of {total}, newest first."),
        "replay.title": ("Putar ulang", "Replay"),
        "replay.intro": (
            "Pilih pesan yang akan diputar ulang. Pratinjau (uji coba) dijalankan lebih dahulu dan tidak menulis "
            "apa pun; sesudah itu Anda dapat menjalankannya.",
            "Choose the messages to replay. A preview (dry run) comes first and writes nothing; then you can run it.",
        ),
        "replay.source": ("Sumber", "Source"),
        "replay.source.rejected": ("Pemberitahuan yang ditolak", "Rejected notifications"),
        "replay.source.dlq": ("Surat mati (topik DLQ)", "Dead letters (the DLQ topic)"),
        "replay.source.ids": ("ID pesan tertentu", "Specific message ids"),
        "replay.source.topic": ("Topik pemberitahuan", "The notification topic"),
        "replay.code": (
            "Kode penolakan atau alasan surat mati (kosong: semua)",
            "Rejection code or dead-letter reason (empty: all)",
        ),
        "replay.hospital": ("ID organisasi rumah sakit (kosong: semua)", "Hospital organisation id (empty: all)"),
        "replay.ids": (
            "ID pesan (satu per baris; hanya untuk sumber ID pesan)",
            "Message ids (one a line; for the message-id source only)",
        ),
        "replay.reason": ("Alasan (dicatat di log audit)", "Reason (recorded in the audit log)"),
        "replay.preview": ("Pratinjau (uji coba)", "Preview (dry run)"),
        "replay.preview_title": ("Pratinjau putar ulang", "Replay preview"),
        "replay.nothing_written": (
            "Uji coba: tidak ada yang ditulis dan tidak ada yang dikirim. Inilah yang akan terjadi:",
            "Dry run: nothing was written and nothing was sent. This is what would happen:",
        ),
        "replay.selection": ("Pilihan", "Selection"),
        "replay.run": ("Jalankan", "Run"),
        "replay.run_hint": (
            "Putaran sungguhan berjalan di latar belakang; kemajuannya tampil di halaman berikutnya.",
            "The real run goes on in the background; the next page shows its progress.",
        ),
        "replay.change": ("Ubah pilihan", "Change the selection"),
        "replay.kind.already-processed": ("Sudah diproses", "Already processed"),
        "replay.kind.newly-processed": ("Baru diproses", "Newly processed"),
        "replay.kind.rejected": ("Ditolak", "Rejected"),
        "replay.kind.unreadable": ("Tak terbaca", "Unreadable"),
        "replay.kind.skipped": ("Dilewati", "Skipped"),
        "replay.run_title": ("Putaran ulang {run}", "Replay run {run}"),
        "replay.progress": ("Kemajuan", "Progress"),
        "replay.of": ("dari", "of"),
        "replay.running": ("Berjalan…", "Running…"),
        "replay.finished": ("Selesai", "Finished"),
        "replay.failed": ("Berhenti dengan galat:", "Stopped with an error:"),
        "replay.elsewhere": (
            "Berjalan di tempat lain atau terhenti: putaran ini belum selesai dan tidak berjalan di konsol ini "
            "(mungkin sedang berjalan di CLI, atau terhenti karena konsol dimulai ulang atau terjadi galat). "
            "Hitungan di bawah adalah yang terakhir disimpan. Putaran yang terhenti dilanjutkan dengan: "
            "hub replay --resume {run}",
            "Running elsewhere or interrupted: this run has not finished and is not going in this console (it "
            "may be running in the CLI, or it stopped when the console restarted or failed). The counts below "
            "were saved last. An interrupted run is continued with: hub replay --resume {run}",
        ),
        "replay.operator": ("Operator", "Operator"),
        "replay.started": ("Dimulai", "Started"),
        "replay.ended": ("Berakhir", "Ended"),
        "replay.back": ("Kembali ke surat mati & penolakan", "Back to dead letters & rejections"),
        "replay.need_reason": ("Isi alasan putar ulang.", "Give the reason for the replay."),
        "replay.need_ids": ("Isi setidaknya satu ID pesan.", "Give at least one message id."),
        "replay.bad_source": ("Pilih sumber yang tersedia.", "Choose one of the sources."),
        "replay.too_many_ids": ("Paling banyak {most} ID pesan sekaligus.", "At most {most} message ids at once."),
        "replay.preview_slow": (
            "Pratinjau terlalu lama (lebih dari {seconds} detik): basis data atau Kafka tidak menjawab. Tidak ada "
            "yang ditulis; coba lagi sebentar lagi.",
            "The preview took too long (over {seconds} s): the database or Kafka is not answering. Nothing was "
            "written; try again shortly.",
        ),
        "done.replay_started": (
            "Putaran ulang dimulai dan dicatat di log audit.",
            "The replay run started and was recorded in the audit log.",
        ),
    }
)


class Refused(Exception):
    """A replay form the page refuses before calling anything: a text key and its values."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def selection_of(source: str, code: str | None, hospital: str | None, message_ids: str | list[str] | None) -> Selection:
    """The console's selections: rejected notifications (by code and hospital), dead letters (by
    reason) or message ids. Whole stretches of the topic are replayed with `hub replay`."""
    if source not in CONSOLE_SOURCES:
        raise Refused("replay.bad_source")
    code, hospital = (code or "").strip() or None, (hospital or "").strip() or None
    if source != "ids":
        return Selection(source, code=code, hospital=hospital)
    found = message_ids if isinstance(message_ids, list) else _ID_SPLIT.split(message_ids or "")
    ids = list(dict.fromkeys(m.strip() for m in found if m.strip()))
    if not ids:
        raise Refused("replay.need_ids")
    if len(ids) > MOST_IDS:
        raise Refused("replay.too_many_ids", most=MOST_IDS)
    return Selection("ids", message_ids=ids, hospital=hospital, code=code)


async def _index(request: Request, status_code: int = 200, error: str | None = None, form: dict | None = None):
    overview = await desk(request).actions.view.failure_overview(SHOWN)
    params = request.query_params
    chosen = form or {
        "source": params.get("sumber", "rejected"),
        "code": params.get("kode", ""),
        "hospital": params.get("rs", ""),
        "message_ids": params.get("pesan", ""),
        "reason": "",
    }
    return render(
        request,
        "deadletters/index.html",
        status_code,
        groups=newest_first([Group(**g) for g in overview["groups"]])[:GROUPS_SHOWN],
        groups_total=len(overview["groups"]),
        letters=overview["letters"],
        letters_total=overview["letters_total"],
        rejected=overview["rejected"],
        rejected_total=overview["rejected_total"],
        meaning=lambda code: i18n.code_meaning(code, language(request)),
        sources=CONSOLE_SOURCES,
        form=chosen,
        error=error,
    )


def _text(request: Request, refused: Refused) -> str:
    return i18n.text(refused.key, language(request), **refused.values)


@pages.get("/surat-mati")
async def index(request: Request, user: Annotated[SignedIn, Depends(viewer(VIEW))]):
    return await _index(request)


Source = Annotated[str, Form(max_length=16)]
Code = Annotated[str, Form(max_length=64)]
Hospital = Annotated[str, Form(max_length=64)]
MessageIds = Annotated[str, Form(max_length=100_000)]
Reason = Annotated[str, Form(max_length=500)]


def _replay_form(form: dict[str, str]) -> Selection:
    """The replay form's selection; a reason is required."""
    selection = selection_of(form["source"], form["code"], form["hospital"], form["message_ids"])
    if not form["reason"].strip():
        raise Refused("replay.need_reason")
    return selection


@pages.post("/surat-mati/pratinjau")
async def preview(
    request: Request,
    user: Annotated[SignedIn, Depends(actor(RUN))],
    source: Source = "rejected",
    code: Code = "",
    hospital: Hospital = "",
    message_ids: MessageIds = "",
    reason: Reason = "",
):
    """The dry run: its counts, and the button that starts the real run with the same selection."""
    form = {"source": source, "code": code, "hospital": hospital, "message_ids": message_ids, "reason": reason}
    try:
        selection = _replay_form(form)
        report = await desk(request).replays.preview(selection, user.actor)
    except Refused as refused:
        return await _index(request, 400, _text(request, refused), form)
    except OperatorError as exc:
        return await _index(request, 400, failed(request, exc), form)
    except PreviewTimedOut as slow:
        slow_text = i18n.text("replay.preview_slow", language(request), seconds=f"{slow.seconds:g}")
        return await _index(request, 503, slow_text, form)
    return render(request, "deadletters/preview.html", report=report, selection=selection, form=form, kinds=KINDS)


@pages.post("/surat-mati/putaran")
async def start_run(
    request: Request,
    user: Annotated[SignedIn, Depends(actor(RUN))],
    source: Source = "rejected",
    code: Code = "",
    hospital: Hospital = "",
    message_ids: MessageIds = "",
    reason: Reason = "",
):
    """The real run: recorded and audited now, replayed in the background; then its page."""
    form = {"source": source, "code": code, "hospital": hospital, "message_ids": message_ids, "reason": reason}
    try:
        selection = _replay_form(form)
        job = await desk(request).replays.launch(selection, user.actor, reason)
    except Refused as refused:
        return await _index(request, 400, _text(request, refused), form)
    except OperatorError as exc:
        return await _index(request, 400, failed(request, exc), form)
    return back_to(f"/surat-mati/putaran/{job.run_id}", done="replay_started")


@pages.get("/surat-mati/putaran/{run_id}")
async def run_page(request: Request, run_id: int, user: Annotated[SignedIn, Depends(viewer(VIEW))]):
    job = await _job(request, run_id)
    return render(request, "deadletters/run.html", job=job, kinds=KINDS)


async def _job(request: Request, run_id: int) -> JobState:
    job = await desk(request).replays.state(run_id) if 0 < run_id < 2**63 else None
    if job is None:
        raise HTTPException(404)
    return job


# --- JSON API ---------------------------------------------------------------------------------


class FailureGroup(BaseModel):
    reason: str = Field(description="The dead-letter reason or the rejection code.")
    hospital_id: str | None = Field(description="None for dead letters: their sender could not be read.")
    count: int
    newest: datetime | None


class DeadLetterRow(BaseModel):
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str | None
    recorded_at: datetime


class DeadLetterList(BaseModel):
    groups: list[FailureGroup]
    dead_letters: list[DeadLetterRow] = Field(description="Newest first.")


class RejectedNotification(BaseModel):
    message_id: str
    hospital_id: str
    codes: list[str]
    partition: int
    offset: int
    updated_at: datetime


class RejectionList(BaseModel):
    groups: list[FailureGroup] = Field(
        description="By code and hospital; a rejection with several codes counts under each."
    )
    rejections: list[RejectedNotification] = Field(description="Newest first.")


class ReplayRequest(BaseModel):
    source: Literal["rejected", "dlq", "ids"] = Field(
        description="rejected: notifications whose last answer was a rejection; dlq: the dead-letter topic; "
        "ids: these message ids."
    )
    code: str | None = Field(None, max_length=64, description="Only this rejection code or dead-letter reason.")
    hospital: str | None = Field(None, max_length=64, description="Only this sending hospital.")
    message_ids: list[str] = Field(default_factory=list, max_length=MOST_IDS)
    dry_run: bool = Field(True, description="Report what would happen and write nothing (no run is recorded).")
    reason: str = Field(max_length=500, description="Why (recorded in the audit log); required.")


class ReplayPreview(BaseModel):
    dry_run: Literal[True] = True
    source: str
    counts: dict[str, int] = Field(description="already-processed, newly-processed, rejected, unreadable, skipped")


class ReplayState(BaseModel):
    run_id: int
    done: int = Field(description="Messages replayed so far.")
    total: int = Field(description="Messages selected (known once reading began).")
    counts: dict[str, int] = Field(description="already-processed, newly-processed, rejected, unreadable, skipped")
    finished: bool = Field(
        description="Nothing more will change: done or stopped in this console, or (a run not going here) "
        "its row says it finished. False for a run going in the CLI or interrupted (running_here false)."
    )
    error: str | None
    running_here: bool = Field(description="False: known only from the run's saved row (resume with the CLI).")
    operator: str
    source: str
    started_at: datetime | None
    finished_at: datetime | None
    already_processed: int
    newly_processed: int
    rejected: int
    unreadable: int
    skipped: int


def _groups(groups: list[Group]) -> list[FailureGroup]:
    return [FailureGroup(reason=g.reason, hospital_id=g.hospital_id, count=g.count, newest=g.newest) for g in groups]


def state_of(job: JobState) -> ReplayState:
    counts = {kind: job.counts.get(kind, 0) for kind in KINDS}
    return ReplayState(
        run_id=job.run_id,
        done=job.done,
        total=job.total,
        counts=counts,
        finished=job.finished,
        error=job.error,
        running_here=job.here,
        operator=job.operator,
        source=job.selection.source,
        started_at=job.started_at,
        finished_at=job.finished_at,
        **{kind.replace("-", "_"): n for kind, n in counts.items()},
    )


@api.get("/dead-letters", response_model=DeadLetterList)
async def api_dead_letters(
    request: Request,
    user: Annotated[SignedIn, Depends(viewer(VIEW))],
    reason: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """Dead letters (unreadable messages), grouped by reason, as `hub dlq list` shows them."""
    letters = await desk(request).actions.view.dead_letters(reason=reason, since=since, until=until)
    return DeadLetterList(
        groups=_groups(group_failures(letters, [])),
        dead_letters=[DeadLetterRow(**row) for row in reversed(letters)],
    )


@api.get("/rejections", response_model=RejectionList)
async def api_rejections(
    request: Request,
    user: Annotated[SignedIn, Depends(viewer(VIEW))],
    code: Annotated[str | None, Query(max_length=64)] = None,
    hospital: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """Rejected notifications, grouped by code and hospital."""
    rows = await desk(request).actions.view.rejections(code=code, hospital=hospital, since=since, until=until)
    return RejectionList(
        groups=_groups(group_failures([], rows)),
        rejections=[
            RejectedNotification(
                message_id=r["message_id"],
                hospital_id=r["hospital_id"],
                codes=list(r["codes"] or ()),
                partition=r["partition"],
                offset=r["offset"],
                updated_at=r["updated_at"],
            )
            for r in reversed(rows)
        ],
    )


@api.post(
    "/replays",
    response_model=ReplayPreview,
    responses={202: {"model": ReplayState, "description": "The run started; poll GET /replays/{run_id}."}},
)
async def api_replay(request: Request, user: Annotated[SignedIn, Depends(actor(RUN))], body: ReplayRequest):
    """A dry run (the default) answers what would happen; with dry_run false the run is recorded,
    audited with the reason and started in the background (202)."""
    try:
        selection = selection_of(body.source, body.code, body.hospital, body.message_ids)
    except Refused as refused:
        raise OperatorError(i18n.text(refused.key, "en", **refused.values)) from None
    if not body.reason.strip():
        raise OperatorError("a reason is required")
    replays = desk(request).replays
    if body.dry_run:
        try:
            report: RunReport = await replays.preview(selection, user.actor)
        except PreviewTimedOut as slow:
            return JSONResponse({"error": str(slow), "code": "UNAVAILABLE"}, status_code=503)
        return ReplayPreview(source=report.source, counts=report.counts)
    job = await replays.launch(selection, user.actor, body.reason)
    return JSONResponse(
        state_of(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/api/v1/replays/{job.run_id}"},
    )


@api.get("/replays/{run_id}", response_model=ReplayState, responses={404: {"description": "No such run"}})
async def api_replay_state(request: Request, run_id: int, user: Annotated[SignedIn, Depends(viewer(VIEW))]):
    """A run's progress: {done, total, counts, finished} (the console's progress bar polls it)."""
    return state_of(await _job(request, run_id))
