"""``medlake users``, ``medlake clients``, ``medlake consent`` and ``medlake audit``: who may sign in,
what residents chose, and who read what.

Passwords are read from a prompt (hidden, asked twice) or, with ``--password-stdin``, from the
first line of standard input: never from the command line, where ``ps`` and shell history
would keep them.
"""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from medlake.access import audit, consent, emergency, identity, keys, tokens
from medlake.access import scopes as smart_scopes
from medlake.access.client_keys import read_key_file
from medlake.access.errors import IdentityError
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, print_json, table, workspace_or_exit
from medlake.workspace import Workspace

users_app = typer.Typer(
    help="People who sign in: residents, clinicians, analysts, stewards, admins.", no_args_is_help=True
)
clients_app = typer.Typer(
    help="System clients (SMART Backend Services) of the institutions.", no_args_is_help=True
)
consent_app = typer.Typer(
    help="Residents' consent: who may use their records held elsewhere, and for what.", no_args_is_help=True
)

Roles = Annotated[
    list[str], typer.Option("--role", help="resident, clinician, analyst, steward or admin (repeatable)")
]
Scopes = Annotated[
    list[str] | None,
    typer.Option(
        "--scope", help="SMART scopes it may be granted (repeatable); default: its roles'", show_default=False
    ),
]
Institution = Annotated[
    str | None,
    typer.Option("--institution", help="the institution (tenant) it belongs to", show_default=False),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")
]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")
    app.add_typer(consent_app, name="consent")
    app.command("audit")(audit_command)


def _workspace(home: Path | None) -> Workspace:
    ws = workspace_or_exit(home)
    ws.catalog.migrate()  # the access tables came with a later revision than some workspaces
    return ws


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise IdentityError("the two passwords differ")
    return first


def _accounts(accounts: list[identity.Account], json_output: bool, title: str) -> None:
    if json_output:
        print_json([a.__dict__ for a in accounts])
        return
    rows = [
        (
            a.name,
            ", ".join(a.roles),
            a.tenant,
            a.patient,
            " ".join(a.scopes),
            "disabled" if a.disabled else "",
        )
        for a in accounts
    ]
    console.print(table(title, ["name", "roles", "institution", "person", "scopes", ""], rows))


# users -----------------------------------------------------------------------------------
@users_app.command("add")
def users_add(
    name: str,
    role: Roles,
    person: Annotated[
        str | None, typer.Option("--person", help="a resident's global person id", show_default=False)
    ] = None,
    institution: Institution = None,
    scope: Scopes = None,
    password_stdin: PasswordStdin = False,
    home: Home = None,
) -> None:
    """Add a person who signs in with a password (stored as an Argon2 hash)."""
    ws = _workspace(home)
    account = identity.add_user(
        ws, name, role, _password(password_stdin), tenant=institution, patient=person, scopes=scope
    )
    console.print(f"added user {account.name} ({', '.join(account.roles)})", markup=False)


@users_app.command("list")
def users_list(json_output: JsonOutput = False, home: Home = None) -> None:
    """Every user: roles, binding, scopes (never a hash)."""
    _accounts(identity.users(_workspace(home)), json_output, "users")


@users_app.command("disable")
def users_disable(name: str, home: Home = None) -> None:
    """Disable a user or a client: its tokens stop working at their next request."""
    identity.set_disabled(_workspace(home), name, True)
    console.print(f"disabled {name}", markup=False)


@users_app.command("enable")
def users_enable(name: str, home: Home = None) -> None:
    """Enable a disabled user or client again."""
    identity.set_disabled(_workspace(home), name, False)
    console.print(f"enabled {name}", markup=False)


@users_app.command("set-password")
def users_set_password(name: str, password_stdin: PasswordStdin = False, home: Home = None) -> None:
    """Set a user's password; their live tokens stop working."""
    identity.set_password(_workspace(home), name, _password(password_stdin))
    console.print(f"password of {name} set", markup=False)


_TTL = re.compile(r"^(\d+)([smhd])$")


@users_app.command("token")
def users_token(
    name: str,
    ttl: Annotated[str, typer.Option("--ttl", help="lifetime: 900s, 15m, 8h, 1d (at most 1d)")] = "15m",
    scope: Annotated[
        str | None, typer.Option("--scope", help="space-separated scopes to ask for", show_default=False)
    ] = None,
    home: Home = None,
) -> None:
    """Print a bearer access token for a user, for scripts (it is a credential: keep it out of logs)."""
    ws = _workspace(home)
    match = _TTL.match(ttl)
    if not match:
        raise IdentityError(f"--ttl is a number and s, m, h or d (15m), not {ttl!r}")
    lifetime = timedelta(seconds=int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]])
    row = identity.user_row(ws, name)
    if row is None or row.disabled:
        raise IdentityError(f"no enabled user {name!r}")
    granted = smart_scopes.narrow(scope, frozenset(row.scopes)) if scope else frozenset(row.scopes)
    issued = tokens.issue(ws, row, granted, ttl=lifetime)
    audit.record(
        ws,
        None,
        subject=name,
        action="authenticate",
        outcome="allowed",
        reason="token issued at the command line",
    )
    sys.stdout.write(issued.access_token + "\n")


@users_app.command("rotate-key")
def users_rotate_key(home: Home = None) -> None:
    """Make a new token signing key in the secrets file; the old one verifies until the next rotation."""
    ws = workspace_or_exit(home)
    console.print(
        f"new token signing key {keys.rotate(ws.home)} (the previous one still verifies)", markup=False
    )


# clients ---------------------------------------------------------------------------------
@clients_app.command("add")
def clients_add(
    name: str,
    jwks: Annotated[Path, typer.Option("--jwks", help="its public keys: a JWKS (.json) or a PEM public key")],
    institution: Institution = None,
    scope: Scopes = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="default: institution", show_default=False)
    ] = None,
    home: Home = None,
) -> None:
    """Register a system client that signs its token requests with one of these keys (RS384/ES384)."""
    ws = _workspace(home)
    account = identity.add_client(ws, name, read_key_file(jwks), tenant=institution, roles=role, scopes=scope)
    console.print(
        f"added client {account.name} of {account.tenant} ({' '.join(account.scopes)})", markup=False
    )


@clients_app.command("list")
def clients_list(json_output: JsonOutput = False, home: Home = None) -> None:
    """Every system client: roles, institution, scopes (keys are public; not shown)."""
    _accounts(identity.clients(_workspace(home)), json_output, "clients")


@clients_app.command("disable")
def clients_disable(name: str, home: Home = None) -> None:
    """Disable a client: no new tokens, and its live ones stop working."""
    identity.set_disabled(_workspace(home), name, True)
    console.print(f"disabled {name}", markup=False)


# consent ---------------------------------------------------------------------------------
@consent_app.command("set")
def consent_set(
    person: str,
    decision: Annotated[str, typer.Argument(help="permit or deny")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="treatment, research or public-health")
    ] = "treatment",
    institution: Annotated[
        str | None, typer.Option("--institution", help="only for this institution", show_default=False)
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="e.g. the reference of the signed form", show_default=False)
    ] = None,
    home: Home = None,
) -> None:
    """Record a resident's choice brought to the data center (the operator is named in the record)."""
    ws = _workspace(home)
    choice = consent.record(ws, getpass.getuser(), person, decision, purpose, institution, note)
    console.print(
        f"{person}: {choice.decision} {choice.purpose} for {choice.institution or 'every institution'}",
        markup=False,
    )


@consent_app.command("list")
def consent_list(
    person: str,
    history: Annotated[bool, typer.Option("--history", help="also the choices since replaced")] = False,
    json_output: JsonOutput = False,
    home: Home = None,
) -> None:
    """A resident's choices (as FHIR Consent resources with --json)."""
    ws = _workspace(home)
    choices = consent.choices(ws, person, history=history)
    if json_output:
        print_json([c.as_fhir(ws.settings.consent_default) for c in choices])
        return
    rows = [
        (
            c.recorded_at,
            c.decision,
            c.purpose,
            c.institution or "any",
            c.recorded_by,
            "" if c.active else "replaced",
        )
        for c in choices
    ]
    console.print(
        table(f"consent of {person}", ["recorded", "decision", "purpose", "institution", "by", ""], rows)
    )


# audit -----------------------------------------------------------------------------------
def audit_command(
    person: Annotated[
        str | None, typer.Option("--person", help="events about this global person", show_default=False)
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="events of this user or client", show_default=False)
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO date or time, or 24h / 7d ago", show_default=False)
    ] = None,
    break_glass: Annotated[
        bool, typer.Option("--break-glass", help="the emergency accesses to review")
    ] = False,
    reviewed: Annotated[
        str | None,
        typer.Option("--reviewed", help="mark this break-glass access (its id) reviewed", show_default=False),
    ] = None,
    json_output: JsonOutput = False,
    home: Home = None,
) -> None:
    """Who read what: the audit trail (every decision, allowed and denied)."""
    ws = _workspace(home)
    if reviewed:
        row = emergency.mark_reviewed(ws, reviewed, f"operator:{getpass.getuser()}")
        console.print(f"break-glass access of {row.subject} to {row.person} marked reviewed", markup=False)
        return
    if break_glass:
        columns = ["id", "opened", "by", "institution", "person", "reason", "until", "reviewed"]
        rows = [
            (
                b.id,
                b.opened_at.isoformat(),
                b.subject,
                b.tenant,
                b.person,
                b.reason,
                b.expires_at.isoformat(),
                "yes" if b.reviewed else "",
            )
            for b in emergency.accesses(ws)
        ]
        if json_output:
            print_json([dict(zip(columns, r, strict=True)) for r in rows])
        else:
            console.print(table("break-glass accesses", columns, rows))
        return
    trail = audit.events(ws, person=person, subject=user, since=_since(since)).to_pylist()
    if json_output:
        print_json([{k: v for k, v in e.items() if k != "event"} for e in trail])
        return
    rows = [
        (
            e["recorded"].isoformat(timespec="seconds"),
            e["subject"],
            e["action"],
            e["outcome"],
            e["resource_type"],
            e["interaction"],
            " ".join(e["patients"] or []),
            "BTG" if e["break_glass"] else "",
            e["reason"],
        )
        for e in trail
    ]
    console.print(
        table(
            "audit",
            ["recorded", "who", "action", "outcome", "type", "interaction", "persons", "", "reason"],
            rows,
        )
    )


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)([hd])", text)
    if match:
        return datetime.now(UTC) - timedelta(hours=int(match[1]) * (24 if match[2] == "d" else 1))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise IdentityError(f"--since is an ISO date or time, or 24h / 7d, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
