"""Generate a whole synthetic region: institutions, staff, residents, ground truth, summary.

Residents are generated one at a time from their own random stream (seeded by the region seed
and their index), written out, and forgotten, so memory stays flat from 100 to 1,000,000
residents, and resident ``i`` is identical whatever the region size.  The output is a
bulk-export-style folder per institution plus ``truth/`` (never read by the platform's pipeline,
only by its tests and benchmarks) and ``region.json``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from medlake.errors import InputError
from medlake.synth import clock, hospital_care, infections, names, planning, primary_care, public_health
from medlake.synth.chart import meta
from medlake.synth.epidemiology import RegionEpidemics
from medlake.synth.geography import COUNTRY, REGION_NAME, STATE, TOWNS
from medlake.synth.health import draw_health
from medlake.synth.identifiers import MAX_RESIDENTS, NumberScrambler, random_uuid
from medlake.synth.institutions import INSTITUTIONS, Institution
from medlake.synth.life import PERSONS_HEADER, RegionContext, ResidentLife
from medlake.synth.output import RegionWriter
from medlake.synth.planning import Event, plan_life
from medlake.synth.population import draw_resident

GENERATOR_VERSION = "1"
_PROGRESS_EVERY = 64

_HANDLERS: dict[str, Callable[[ResidentLife, Event], None]] = {
    planning.REGISTER: ResidentLife.register,
    planning.WELL_CHILD: primary_care.well_child,
    planning.REVIEW: primary_care.review,
    planning.CHECKUP: primary_care.checkup,
    planning.FOLLOW_UP: primary_care.follow_up,
    planning.MINOR_ILLNESS: primary_care.minor_illness,
    planning.INFECTION: infections.infection,
    planning.CHRONIC_EMERGENCY: hospital_care.chronic_emergency,
    planning.SEVERE_INFECTION: hospital_care.severe_infection,
    planning.INJURY: hospital_care.injury,
    planning.ELECTIVE: hospital_care.elective,
    planning.VACCINATION: public_health.vaccination,
    planning.TERMINAL_ADMISSION: hospital_care.terminal_admission,
    planning.DEATH: ResidentLife.record_death,
}


@dataclass(frozen=True, slots=True)
class RegionSummary:
    """What was generated: per-institution, per-type line counts (newer versions included)."""

    out_dir: Path
    seed: int
    residents: int
    institutions: tuple[Institution, ...]
    counts: dict[str, dict[str, int]]
    updated_versions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_resources(self) -> int:
        return sum(sum(by_type.values()) for by_type in self.counts.values())

    @property
    def resources_per_second(self) -> float:
        return self.total_resources / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        """The summary as written to ``region.json`` (no timings: the file must be reproducible)."""
        return {
            "generator": f"medlake-synth/{GENERATOR_VERSION}",
            "region": {
                "name": REGION_NAME,
                "state": STATE,
                "country": COUNTRY,
                "towns": [t.name for t in TOWNS],
            },
            "seed": self.seed,
            "residents": self.residents,
            "window": {
                "start": clock.WINDOW_START.isoformat(),
                "end": clock.WINDOW_END.isoformat(),
                "as_of": clock.AS_OF.isoformat(),
            },
            "institutions": [inst.as_json() for inst in self.institutions],
            "counts": self.counts,
            "updated_versions": self.updated_versions,
            "total_resources": self.total_resources,
        }


def generate_region(
    out_dir: Path,
    residents: int,
    seed: int,
    gzip: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RegionSummary:
    """Write a synthetic region of ``residents`` people to ``out_dir`` and return its summary.

    ``progress`` is called with the number of residents written since its previous call (every
    few dozen residents, and once at the end), so the increments add up to ``residents``; that
    is what a progress bar's ``advance`` wants.  The same ``seed`` and ``residents`` always give
    byte-identical files.  Existing files of a previous run in ``out_dir`` are overwritten.
    """
    if not isinstance(residents, int) or isinstance(residents, bool) or residents < 1:
        raise InputError(f"residents must be a positive integer, got {residents!r}")
    if residents > MAX_RESIDENTS:
        raise InputError(f"residents must be at most {MAX_RESIDENTS:,}, got {residents:,}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"seed must be an integer, got {seed!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_output(out_dir)

    started = time.perf_counter()
    with RegionWriter(out_dir, gzip) as writer:
        context = RegionContext(
            seed=seed,
            epidemics=RegionEpidemics.for_seed(seed),
            writer=writer,
            patient_numbers={inst.id: NumberScrambler(f"{seed}/patients/{inst.id}") for inst in INSTITUTIONS},
            national_numbers=NumberScrambler(f"{seed}/national-id"),
            practitioners=_write_institutions(writer, seed),
        )
        _write_truth_headers(writer, context)
        reported = 0
        for index in range(residents):
            _generate_resident(context, index)
            if progress is not None and index + 1 - reported >= _PROGRESS_EVERY:
                progress(index + 1 - reported)
                reported = index + 1
        counts = {inst: dict(sorted(types.items())) for inst, types in sorted(writer.counts.items())}
        updated = dict(sorted(writer.updated_versions.items()))
    if progress is not None and residents > reported:
        progress(residents - reported)
    summary = RegionSummary(
        out_dir=out_dir,
        seed=seed,
        residents=residents,
        institutions=INSTITUTIONS,
        counts=counts,
        updated_versions=updated,
        seconds=time.perf_counter() - started,
    )
    (out_dir / "region.json").write_bytes(orjson.dumps(summary.as_json(), option=orjson.OPT_INDENT_2) + b"\n")
    return summary


def _generate_resident(context: RegionContext, index: int) -> None:
    rng = random.Random(f"medlake-synth/{context.seed}/resident/{index}")
    resident = draw_resident(rng, index, context.national_numbers)
    health = draw_health(rng, resident)
    events = plan_life(rng, resident, health, context.epidemics)
    ResidentLife(context, rng, resident, health).live(events, _HANDLERS)


def _remove_previous_output(out_dir: Path) -> None:
    """Delete files a previous run left (they would otherwise mix with this run's)."""
    for institution in INSTITUTIONS:
        folder = out_dir / institution.id
        if folder.is_dir():
            for path in folder.glob("*.ndjson*"):
                path.unlink()
    truth = out_dir / "truth"
    if truth.is_dir():
        for path in truth.glob("*.csv"):
            path.unlink()


def _write_truth_headers(writer: RegionWriter, context: RegionContext) -> None:
    """Create the truth files up front (header-only when empty) and write the outbreak calendar."""
    writer.truth_header("persons", PERSONS_HEADER)
    writer.truth_header("deteriorations", hospital_care.DETERIORATION_HEADER)
    header = ("outbreak_id", "disease", "town", "start", "end", "attack_rate")
    writer.truth_header("outbreaks", header)
    for outbreak in context.epidemics.outbreaks:
        writer.truth_row(
            "outbreaks",
            (
                outbreak.outbreak_id,
                outbreak.disease,
                outbreak.town.name,
                clock.day_text(outbreak.start_day),
                clock.day_text(outbreak.end_day),
                f"{outbreak.attack_rate:.4f}",
            ),
        )
    seasons_header = ("season", "influenza_peak", "relative_size")
    writer.truth_header("influenza_seasons", seasons_header)
    for peak, size in context.epidemics.influenza_seasons:
        year = clock.date_of(peak).year
        season = (
            f"{year - 1}/{year % 100:02d}" if clock.month_of(peak) < 8 else f"{year}/{(year + 1) % 100:02d}"
        )
        writer.truth_row("influenza_seasons", (season, clock.day_text(peak), f"{size:.3f}"))


def _write_institutions(writer: RegionWriter, seed: int) -> dict[str, tuple[dict[str, str], ...]]:
    """Write each institution's Organization and Practitioner resources; return practitioner references."""
    rng = random.Random(f"medlake-synth/{seed}/institutions")
    updated = meta(clock.at(clock.START_DAY - 30, 9 * 60))
    town_of = {"chc-east": "Eastmere", "chc-west": "Westhaven", "hosp-south": "Southport"}
    references: dict[str, tuple[dict[str, str], ...]] = {}
    for inst in INSTITUTIONS:
        writer.write(
            inst.id,
            {
                "resourceType": "Organization",
                "id": inst.id,
                "meta": updated,
                "identifier": [{"system": "http://example.org/fhir/sid/organization-id", "value": inst.id}],
                "active": True,
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                "code": "govt" if inst.kind == "public-health-agency" else "prov",
                                "display": "Government"
                                if inst.kind == "public-health-agency"
                                else "Healthcare Provider",
                            }
                        ]
                    }
                ],
                "name": inst.name,
                "address": [{"city": town_of.get(inst.id, "Lakeford"), "state": STATE, "country": COUNTRY}],
            },
        )
        refs = []
        for number in range(1, inst.practitioners + 1):
            female = rng.random() < 0.5
            practitioner_id = random_uuid(rng) if inst.id_style == "uuid" else f"pr-{number:03d}"
            writer.write(
                inst.id,
                {
                    "resourceType": "Practitioner",
                    "id": practitioner_id,
                    "meta": updated,
                    "identifier": [
                        {"system": f"{inst.mrn_system}/staff", "value": f"{inst.id}-{number:03d}"}
                    ],
                    "active": True,
                    "name": [
                        {
                            "family": rng.choice(names.FAMILY),
                            "given": [rng.choice(names.FEMALE_GIVEN if female else names.MALE_GIVEN)],
                            "prefix": ["Dr"],
                        }
                    ],
                    "gender": "female" if female else "male",
                },
            )
            refs.append({"reference": f"Practitioner/{practitioner_id}"})
        references[inst.id] = tuple(refs)
    return references
