"""Which messages are processed, and the segment order each must have.

Real interfaces send optional segments, Z-segments and later-version segments in many
places, so the whole abstract message syntax is not enforced (a strict validator rejects
every one of the reference samples). What *is* checked is the order the conversion
relies on, from the v2.5-v2.8 message structures (ADT_A01, ADT_A03, ADT_A39, ORU_R01):
the patient comes before the visit, a merge names the patient before the prior one, a
result belongs to an order or a patient, exactly one patient per ADT visit event. A
message that breaks them would be mapped to the wrong patient or visit, so it is
rejected (AE, HL7 error 100 "segment sequence error") with the offending segment named.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from medlake.sources.hl7v2.parsing import MessageRejected

#: (MSH-9.1, MSH-9.2) → what the event means; the keys are the supported messages.
SUPPORTED: dict[tuple[str, str], str] = {
    ("ADT", "A01"): "admit/visit notification",
    ("ADT", "A03"): "discharge/end visit",
    ("ADT", "A04"): "register a patient",
    ("ADT", "A08"): "update patient information",
    ("ADT", "A40"): "merge patient - patient identifier list",
    ("ORU", "R01"): "unsolicited observation result",
}
VISIT_EVENTS = {"A01", "A03", "A04", "A08"}
#: ORU segments that may only appear inside a patient or order group.
_ORU_GROUPED = {"OBX", "SPM", "PV1", "PV2", "TQ1", "TQ2", "CTD", "FT1", "CTI", "TXA", "PRT"}


def check_structure(message_type: str, trigger: str, ids: Sequence[str]) -> None:
    """Raise :class:`MessageRejected` if the segment order breaks what the mapping relies on."""
    if message_type == "ADT" and trigger in VISIT_EVENTS:
        _check_visit_event(f"ADT^{trigger}", ids)
    elif message_type == "ADT" and trigger == "A40":
        _check_merge(ids)
    elif message_type == "ORU":
        _check_results(ids)


def _reject(reason: str) -> MessageRejected:
    return MessageRejected(reason, stage="structure", ack_code="AE", error_code="100")


def _where(name: str, ids: Sequence[str]) -> list[int]:
    return [i for i, s in enumerate(ids, start=1) if s == name]


def _check_visit_event(kind: str, ids: Sequence[str]) -> None:
    for name in ("PID", "PV1"):
        found = _where(name, ids)
        if len(found) != 1:
            hint = " (the message may be truncated)" if not found else ""
            raise _reject(f"{kind} needs exactly one {name} segment but has {len(found)}{hint}")
    [pid], [pv1] = _where("PID", ids), _where("PV1", ids)
    if pv1 < pid:
        raise _reject(f"PV1 (segment {pv1}) comes before PID (segment {pid}): {kind} requires PID before PV1")
    for evn in _where("EVN", ids):
        if evn > pid:
            raise _reject(f"EVN (segment {evn}) comes after PID (segment {pid}): {kind} requires EVN first")


def _check_merge(ids: Sequence[str]) -> None:
    pids = _where("PID", ids)
    if not pids:
        raise _reject("ADT^A40 needs at least one PID followed by its MRG, and has no PID")
    for evn in _where("EVN", ids):
        if evn > pids[0]:
            raise _reject(
                f"EVN (segment {evn}) comes after PID (segment {pids[0]}): ADT^A40 requires EVN first"
            )
    bounds = [*pids, len(ids) + 1]
    for mrg in _where("MRG", ids):
        if mrg < pids[0]:
            raise _reject(f"MRG (segment {mrg}) comes before any PID: the surviving patient must come first")
    for start, end in pairwise(bounds):
        merges = [i for i in _where("MRG", ids) if start < i < end]
        if len(merges) != 1:
            raise _reject(
                f"PID (segment {start}) must be followed by exactly one MRG before the next patient, "
                f"found {len(merges)}"
            )


def _check_results(ids: Sequence[str]) -> None:
    if not _where("OBR", ids):
        raise _reject("ORU^R01 needs at least one OBR (an order with its results) and has none")
    group: str | None = None  # None until the first PID / ORC / OBR, then "patient" or "order"
    for position, name in enumerate(ids, start=1):
        if name == "PID":
            group = "patient"
        elif name in ("ORC", "OBR"):
            group = "order"
        elif name in _ORU_GROUPED and group is None:
            raise _reject(
                f"{name} (segment {position}) comes before any PID, ORC or OBR: it belongs to nothing"
            )
        elif name in ("PV1", "PV2") and group == "order":
            raise _reject(
                f"{name} (segment {position}) comes after an order: the visit must follow its PID, "
                "before the patient's orders"
            )
