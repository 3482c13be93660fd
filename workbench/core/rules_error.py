"""The one error of the response rules: what is wrong, where, and in which rule.

Validation (``workbench.core.rules.check_rule`` and friends) raises it before a rule is used,
so the window can show it inline beside the field and refuse to save; loading a saved file
reports one per bad entry (``workbench.core.rules_store``).
"""

from __future__ import annotations

__all__ = ["RuleError"]


class RuleError(ValueError):
    """A rule that cannot be used: ``reason``, in ``field`` (``"match"``, ``"reply"``,
    ``"framing"``, ``"delay_ms"``, ...), at ``position``/``length`` in that field's text when
    it is text (a ``str`` index, as :class:`workbench.core.codecs.InputError` counts), in the
    rule at ``index`` (0-based) named ``name`` once the rule is known.

    ``str()`` reads ``rule 2 "ping": reply, position 5: unknown placeholder {pear}`` (the rule
    number shown 1-based, as the window numbers its rows).
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str = "",
        position: int | None = None,
        length: int = 0,
        index: int | None = None,
        name: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.position = position
        self.length = length
        self.index = index
        self.name = name

    def in_rule(self, index: int, name: str) -> RuleError:
        """The same error, naming the rule it was found in."""
        return RuleError(
            self.reason,
            field=self.field,
            position=self.position,
            length=self.length,
            index=index,
            name=name,
        )

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(
                f'rule {self.index + 1} "{self.name}"' if self.name else f"rule {self.index + 1}"
            )
        field = self.field
        if self.position is not None:
            field = f"{field}, position {self.position}" if field else f"position {self.position}"
        if field:
            where.append(field)
        return ": ".join([*where, self.reason])

    def __repr__(self) -> str:
        return f"RuleError({str(self)!r})"
