"""Composition root: the Chalice app and its blueprints, nothing else."""

from chalice.app import Chalice

from chalicelib.api import (
    admin,
    appeals,
    auth,
    deals,
    health,
    leads,
    me,
    openapi,
    operator_bot,
    operators,
    sources,
    stats,
    telegram,
)
from chalicelib.api.observability import bp as observed
from chalicelib.handlers import events, intake, schedules

app = Chalice(app_name="leadcrm")

app.register_blueprint(observed)
app.register_blueprint(auth.bp)
app.register_blueprint(health.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(me.bp)
app.register_blueprint(operators.bp)
app.register_blueprint(sources.bp)
app.register_blueprint(appeals.bp)
app.register_blueprint(leads.bp)
app.register_blueprint(deals.bp)
app.register_blueprint(stats.bp)
app.register_blueprint(telegram.bp)
app.register_blueprint(operator_bot.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(intake.bp)
app.register_blueprint(schedules.bp)
app.register_blueprint(events.bp)
