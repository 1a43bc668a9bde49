"""Tools for staff: the late-charge calculator."""

from pyramid.view import view_config

from ..params import parse_date
from ..resources import Root
from ..security.permissions import Permission
from ..taxes.latecharge import late_charge
from ..taxes.rates import UnknownRate

MAX_TAX = 10_000_000_000


@view_config(context=Root, name="late-charge", renderer="tools/late_charge.jinja2",
             permission=Permission.LateChargeCalculate)
def late_charge_calculator(request):
    """No personal data goes in (amounts and dates), so the form is a GET."""
    params = request.GET
    values = {k: params.get(k, "") for k in ("tax", "due", "paid", "partial_on", "partial_amount")}
    result, errors = None, []
    if values["tax"] or values["due"] or values["paid"]:
        try:
            tax = int(values["tax"].replace(",", ""))
            if not 0 <= tax <= MAX_TAX:
                raise ValueError
        except ValueError:
            errors.append("tools.error.tax")
        try:
            due = parse_date(values["due"])
            paid = parse_date(values["paid"])
        except ValueError:
            errors.append("tools.error.dates")
        partials = []
        if values["partial_on"] or values["partial_amount"]:
            try:
                partials.append((parse_date(values["partial_on"]),
                                 int(values["partial_amount"].replace(",", ""))))
            except ValueError:
                errors.append("tools.error.partial")
        if not errors:
            try:
                result = late_charge(tax, due, paid, partials=partials)
            except UnknownRate:
                errors.append("tools.error.rate")
        if errors:
            request.response.status = 400
    return {"values": values, "result": result, "errors": errors}
