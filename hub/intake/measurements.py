"""Rules for the birth Observations: weight (required, grams), length and gestational age (cm, weeks).

A missing weight, whether the Observation or its value, is BIRTH-WEIGHT-MISSING: the code says which.
"""

from __future__ import annotations

from hub.domain import codes
from hub.domain.codes import Code, Issue
from hub.intake import vocabulary as v
from hub.intake.bundle_view import BundleView, Located

WEIGHT_RANGE_G = (300, 7000)
STILLBIRTH_WEIGHT_RANGE_G = (100, 7000)
LENGTH_RANGE_CM = (20.0, 65.0)
GESTATION_RANGE_WEEKS = (18.0, 45.0)


def read_measurements(view: BundleView, newborn: Located, stillborn: bool) -> tuple[dict | None, list[Issue]]:
    issues: list[Issue] = []
    weight_range = STILLBIRTH_WEIGHT_RANGE_G if stillborn else WEIGHT_RANGE_G
    found = view.observation(v.BIRTH_WEIGHT, newborn)
    if found is None:
        issues.append(
            Issue(codes.WEIGHT_MISSING, "Bundle.entry", f"an Observation {v.LOINC}|{v.BIRTH_WEIGHT} for the newborn")
        )
    weight = _quantity(found, "g", weight_range, codes.WEIGHT_IMPLAUSIBLE, issues, missing=codes.WEIGHT_MISSING)
    length = _quantity(
        view.observation(v.BIRTH_LENGTH, newborn), "cm", LENGTH_RANGE_CM, codes.LENGTH_IMPLAUSIBLE, issues
    )
    weeks = _quantity(
        view.observation(v.GESTATIONAL_AGE, newborn), "wk", GESTATION_RANGE_WEEKS, codes.GESTATION_IMPLAUSIBLE, issues
    )
    if weight is None or any(issue.blocks for issue in issues):
        return None, issues
    return {"weight_g": round(weight), "length_cm": length, "gestational_weeks": weeks}, issues


def _quantity(
    found: Located | None,
    unit: str,
    bounds: tuple[float, float],
    implausible,
    issues: list[Issue],
    missing: Code = codes.ELEMENT_MISSING,
) -> float | None:
    if found is None:
        return None
    quantity = found.resource.get("valueQuantity")
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        issues.append(Issue(missing, found.at("valueQuantity"), f"a quantity in UCUM {unit}"))
        return None
    if quantity.get("code") != unit or quantity.get("system") != v.UCUM:
        problem = codes.WEIGHT_UNIT if unit == "g" else codes.CODE_UNKNOWN
        issues.append(Issue(problem, found.at("valueQuantity.code"), f"UCUM {unit}"))
        return None
    value = float(quantity["value"])
    low, high = bounds
    if not low <= value <= high:
        issues.append(Issue(implausible, found.at("valueQuantity.value"), f"expected {low:g}..{high:g} {unit}"))
        return None
    return value
