"""What every segment converter of one message needs to know about that message."""

from __future__ import annotations

from dataclasses import dataclass, field

from medlake.sources.hl7v2.parsing import ParsedMessage


@dataclass
class Context:
    """One message being converted: its time zone, the Binary that keeps it, its meta.

    ``meta`` goes on every resource: ``lastUpdated`` from MSH-7 (so versions from later
    messages sort later), ``source`` naming the stored original message, and the failures
    collected so far (a resource that cannot be converted is reported, the rest go on).
    """

    message: ParsedMessage
    tz: str
    binary_id: str
    last_updated: str | None
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def message_key(self) -> tuple[str, str, str]:
        header = self.message.header
        return header.sending_application, header.sending_facility, header.control_id

    def meta(self) -> dict:
        out: dict = {"source": f"Binary/{self.binary_id}"}
        if self.last_updated:
            out["lastUpdated"] = self.last_updated
        return out

    def fail(self, what: str, reason: str) -> None:
        self.failures.append((what, reason))
