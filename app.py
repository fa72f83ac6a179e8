"""Composition root: the Chalice app and its blueprints, nothing else."""

import gc

# Importing the app creates tens of thousands of objects (classes, schemas), and the cyclic
# GC's full collections during it scan them all again and again: a third of `import app`.
# None of them is garbage, so the collector waits until the app is built.
gc.disable()

from chalice.app import Chalice

from chalicelib.api import (
    admin,
    appeals,
    auth,
    conditional,
    console,
    deals,
    health,
    insight,
    leads,
    me,
    messages,
    openapi,
    operator_bot,
    operators,
    scoring,
    sources,
    stats,
    telegram,
    webhooks,
)
from chalicelib.api import (
    schedules as shift_schedules,
)
from chalicelib.api.observability import bp as observed
from chalicelib.handlers import events, intake, schedules
from chalicelib.handlers import webhooks as webhook_deliveries

app = Chalice(app_name="leadcrm")
# Off unless CONSOLE_CORS_ORIGIN is set: every route registered below takes this default.
app.api.cors = console.cors_policy()

app.register_blueprint(observed)
app.register_blueprint(conditional.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(health.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(me.bp)
app.register_blueprint(operators.bp)
app.register_blueprint(shift_schedules.bp)
app.register_blueprint(sources.bp)
app.register_blueprint(appeals.bp)
app.register_blueprint(messages.bp)
app.register_blueprint(leads.bp)
app.register_blueprint(deals.bp)
app.register_blueprint(stats.bp)
app.register_blueprint(insight.bp)
app.register_blueprint(telegram.bp)
app.register_blueprint(scoring.bp)
app.register_blueprint(operator_bot.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(console.bp)
app.register_blueprint(intake.bp)
app.register_blueprint(schedules.bp)
app.register_blueprint(events.bp)
app.register_blueprint(webhook_deliveries.bp)

# Everything built so far lives as long as the function: out of the collector's way for good.
gc.freeze()
gc.enable()
