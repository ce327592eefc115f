"""Living one resident's planned events: which institution sees them, under which local record.

:class:`ResidentLife` owns the resident's charts (one per institution, occasionally two when a
hospital registers the same person twice) and routes each planned event to the care module that
writes it.  Creating a chart is the moment a person becomes a Patient at an institution, so it is
also where the ground-truth row ``person_id,institution,patient_id`` is written.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from medlake.synth import clock
from medlake.synth.chart import Chart
from medlake.synth.epidemiology import RegionEpidemics
from medlake.synth.health import HealthProfile
from medlake.synth.identifiers import NumberScrambler, ResourceIds, local_number, patient_id
from medlake.synth.institutions import INSTITUTION_BY_ID, PUBLIC_HEALTH, Institution
from medlake.synth.output import RegionWriter
from medlake.synth.planning import Event
from medlake.synth.population import Residence, Resident
from medlake.synth.variation import address_json, patient_resource

PERSONS_HEADER = ("person_id", "institution", "patient_id")


@dataclass(frozen=True, slots=True)
class RegionContext:
    """What every resident shares: the seed's epidemics, id scramblers, staff lists and the writer."""

    seed: int
    epidemics: RegionEpidemics
    writer: RegionWriter
    patient_numbers: dict[str, NumberScrambler]
    national_numbers: NumberScrambler
    practitioners: dict[str, tuple[dict[str, str], ...]]


class ResidentLife:
    """One resident's charts across the region, filled event by event."""

    def __init__(
        self, context: RegionContext, rng: random.Random, resident: Resident, health: HealthProfile
    ) -> None:
        self.context = context
        self.rng = rng
        self.resident = resident
        self.health = health
        self.charts: dict[tuple[str, int], Chart] = {}
        self.health_centre: str = resident.residences[0].town.health_centre
        self.died_in: str | None = None  # institution where the resident died, if in hospital

    # ------------------------------------------------------------------ charts
    def chart(self, institution: Institution, day: int, duplicate: int = 0) -> Chart:
        """The resident's chart at ``institution``, registering them there on first contact."""
        key = (institution.id, duplicate)
        chart = self.charts.get(key)
        if chart is None:
            chart = self._register(institution, day, duplicate)
            self.charts[key] = chart
        else:
            self._maybe_update_address(chart, day)
        return chart

    def health_centre_chart(self, day: int) -> Chart:
        return self.chart(INSTITUTION_BY_ID[self.health_centre], day)

    def hospital_chart(self, day: int) -> Chart:
        """Mostly the catchment hospital; sometimes the other one; rarely a duplicate registration."""
        home = self.resident.residence_on(day).town.hospital
        if self.rng.random() < 0.15:
            home = "hosp-south" if home == "hosp-north" else "hosp-north"
        institution = INSTITUTION_BY_ID[home]
        # Now and then the desk misses the existing record and registers the patient again.
        duplicate = 1 if (institution.id, 0) in self.charts and self.rng.random() < 0.05 else 0
        return self.chart(institution, day, duplicate)

    def public_health_chart(self, day: int) -> Chart:
        return self.chart(PUBLIC_HEALTH, day)

    def _register(self, institution: Institution, day: int, duplicate: int) -> Chart:
        context, rng, resident = self.context, self.rng, self.resident
        number = local_number(context.patient_numbers[institution.id], resident.index, duplicate)
        local_id = patient_id(institution, number, rng)
        registered = clock.at(day, rng.randrange(7 * 60, 19 * 60))
        patient = patient_resource(
            rng, resident, institution, local_id, number, day, clock.instant_text(registered)
        )
        context.writer.truth_row("persons", (resident.person_id, institution.id, local_id))
        return Chart(
            institution,
            patient,
            ResourceIds(institution, local_id, rng),
            rng,
            context.writer,
            context.practitioners[institution.id],
            resident.residence_on(day),
        )

    def _maybe_update_address(self, chart: Chart, day: int) -> None:
        """After a move, an institution the resident visits updates the address about half the time."""
        residence = self.resident.residence_on(day)
        if residence is chart.residence:
            return
        chart.residence = residence
        if self.rng.random() < 0.5:
            updated = clock.at(day, self.rng.randrange(8 * 60, 18 * 60))
            chart.update_patient(
                updated, address=[address_json(self.rng, residence.address, chart.institution)]
            )

    # ------------------------------------------------------------------ events
    def live(self, events: list[Event], handlers: dict[str, Callable[[ResidentLife, Event], None]]) -> None:
        for event in events:
            handlers[event.kind](self, event)

    def register(self, event: Event) -> None:
        residence: Residence = event.detail
        self.health_centre = residence.town.health_centre
        self.health_centre_chart(event.day)

    def record_death(self, event: Event) -> None:
        """The death reaches the health centre's record, and sometimes the public-health registry."""
        rng, day = self.rng, event.day
        died = clock.at(day, rng.randrange(0, clock.MINUTES_PER_DAY))
        for (institution_id, _), chart in self.charts.items():
            if institution_id == self.died_in:
                continue  # the hospital wrote it at discharge
            if institution_id == self.health_centre and rng.random() < 0.92:
                updated = clock.at(day + rng.randrange(2, 30), rng.randrange(8 * 60, 18 * 60))
                chart.update_patient(updated, deceasedDateTime=clock.instant_text(died))
            elif institution_id == PUBLIC_HEALTH.id and rng.random() < 0.5:
                updated = clock.at(day + rng.randrange(7, 60), rng.randrange(8 * 60, 18 * 60))
                chart.update_patient(updated, deceasedDateTime=clock.day_text(day))
