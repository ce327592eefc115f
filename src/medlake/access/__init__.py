"""Who may read what: identity, roles, SMART scopes, consent, the one policy check and its audit.

Every read path of the service asks :func:`medlake.access.policy.authorize` for an
:class:`~medlake.access.policy.AccessScope` and applies it as a filter, so no path can forget a
rule. Identity (people and system clients), tokens and the audit trail live beside it.
"""

from medlake.access.principal import Principal, Role

__all__ = ["Principal", "Role"]
