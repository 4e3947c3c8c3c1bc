"""HTML for the Model health view and the per-run report, from Jinja2 templates.

The templates live in this module rather than in files so that a plain (non-editable) install
of the package, as in the Docker image, carries them without extra package data. Autoescaping
is on: every value from the warehouse is text, never markup. No JavaScript: the Airflow UI
shows the view in a sandboxed iframe, and plain links and forms are all it needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

from modelwatch.links import incident_href
from modelwatch.ui.incident_page import INCIDENT

STYLE = """
body { font: 13px/1.4 system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 16px;
       color: #1b1f23; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 8px; }
h3 { font-size: 14px; margin: 0 0 4px; }
a { color: #0b5cad; } .muted { color: #6a737d; } .small { font-size: 11px; }
table { border-collapse: collapse; } td, th { padding: 3px 8px; text-align: left; }
table.list td, table.list th { border-bottom: 1px solid #e1e4e8; }
table.list th { background: #f6f8fa; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px;
         font-weight: 600; color: #fff; background: #6a737d; }
.critical { background: #b71c1c; } .warning { background: #e65100; }
.firing, .opened { background: #c62828; } .resolved { background: #2e7d32; }
.awaiting_approval { background: #e65100; }
.approved, .dispatched, .applied { background: #2e7d32; }
.rejected, .failed { background: #6d4c41; } .proposed { background: #1565c0; }
.skipped { background: #90a4ae; } .active { background: #6a1b9a; }
.expired { background: #90a4ae; }
.pending { background: #1565c0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 12px; margin: 0 0 12px; }
.card.alert { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-start; }
.card.alert .info { flex: 1 1 420px; min-width: 0; }
.card img { flex: none; width: 540px; max-width: 100%; border: 1px solid #eee; }
.flash { padding: 8px 12px; border-radius: 6px; background: #e8f5e9; border: 1px solid #a5d6a7; }
.flash.error { background: #ffebee; border-color: #ef9a9a; }
.figures span { display: inline-block; margin: 0 14px 4px 0; }
.figures b { font-size: 16px; }
table.heat { border-spacing: 1px; border-collapse: separate; }
table.heat td, table.heat th { padding: 0; }
table.heat th { font-weight: normal; font-size: 10px; color: #57606a; text-align: center; }
table.heat th.model { text-align: right; padding-right: 6px; font-size: 11px; white-space: nowrap; }
table.heat td { width: 26px; height: 16px; border-radius: 2px; background: #f6f8fa; }
table.heat td a { display: block; width: 100%; height: 100%; }
.sc-0 { background: #e8f5e9 !important; } .sc-1 { background: #e3f2e1 !important; }
.sc-2 { background: #dcefd8 !important; } .sc-3 { background: #d7ecd0 !important; }
.sc-4 { background: #e6eec4 !important; } .sc-5 { background: #f1eebb !important; }
.sc-6 { background: #f8e7a8 !important; } .sc-7 { background: #fbd78b !important; }
.sc-8 { background: #fdc06c !important; } .sc-9 { background: #fba55a !important; }
.st-anomaly { background: #d32f2f !important; }
.st-quarantined { background: #8e24aa !important; }
.st-no_data { background: #37474f !important; }
.st-insufficient_history { background: #cfd8dc !important; }
.legend span { display: inline-block; margin-right: 10px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
            vertical-align: -2px; margin-right: 3px; }
form.inline { display: inline; } button { font: inherit; padding: 2px 10px; cursor: pointer; }
button.approve { background: #2e7d32; color: #fff; border: 1px solid #1b5e20; border-radius: 4px; }
button.reject { background: #fff; color: #b71c1c; border: 1px solid #b71c1c; border-radius: 4px; }
nav.day a, nav.day span { margin-right: 10px; }
"""

MACROS = """
{% macro metrics_table(metrics) -%}
{% if metrics %}
<table class="list small metrics">
  <tr><th>metric</th><th class="num">observed</th><th class="num">baseline</th>
      <th class="num">robust z</th></tr>
  {% for m in metrics %}
  <tr><td>{{ m.metric }}</td><td class="num">{{ m.observed|num }}</td>
      <td class="num">{{ m.baseline|num }}</td><td class="num">{{ m.robust_z|num(1) }}</td></tr>
  {% endfor %}
</table>
{% endif %}
{%- endmacro %}

{% macro alert_card(a, plot=None, report=None, incident=None) -%}
<div class="card alert" id="alert-{{ a.alert_id }}" data-alert-id="{{ a.alert_id }}">
  <div class="info">
  <h3><span class="badge {{ a.severity }}">{{ a.severity }}</span>
      <span class="badge {{ a.event }}">{{ a.event }}</span>
      {{ a.alert_id }}</h3>
  <div class="muted small">model {{ a.model_id }} &middot; {{ a.kind }} &middot;
    opened {{ a.opened_hour|hour }} &middot; last signal {{ a.last_signal_hour|hour }}
    {% if a.resolved_hour %}&middot; resolved {{ a.resolved_hour|hour }}{% endif %}
    {% if a.peak_score is not none %}&middot; peak score {{ a.peak_score|num(3) }}{% endif %}
  </div>
  <p class="summary">{{ a.summary }}</p>
  {{ metrics_table(a.metrics) }}
  {% if a.hints %}<ol class="hints small">{% for h in a.hints[:3] %}
    <li><span class="badge">{{ h.kind|replace('_', ' ') }}</span> {{ h.summary }}</li>
  {% endfor %}</ol>{% endif %}
  {% if report or incident %}<p class="small">
    {% if incident %}<a class="incident" href="{{ incident }}">the incident, end to end</a>
    {% endif %}{% if report %}<a href="{{ report }}">the hour's report</a>{% endif %}</p>
  {% endif %}
  {% if report and a.kind == 'anomaly' and a.open %}
  <form class="inline" method="post" action="baselines">
    <input type="hidden" name="model_id" value="{{ a.model_id }}">
    <input name="reason" placeholder="why this level is normal" maxlength="500">
    <button class="approve">Accept as new normal</button>
  </form>{% endif %}
  </div>
  {% if plot %}<img class="plot" src="{{ plot }}" alt="plot of {{ a.alert_id }}">{% endif %}
</div>
{%- endmacro %}

{% macro request_table(rows, approve_url=None) -%}
<table class="list requests">
  <tr><th>request</th><th>status</th><th>mode</th><th class="num">replicas</th>
      <th>why</th><th>decided by</th><th></th></tr>
  {% for r in rows %}
  <tr data-request-id="{{ r.request_id }}">
    <td>{{ r.request_id }}</td>
    <td><span class="badge {{ r.status }}">{{ r.status|replace('_', ' ') }}</span></td>
    <td>{{ r.mode }}</td>
    <td class="num">{% if r.from_replicas is not none %}{{ r.from_replicas }} &rarr;
        {{ r.to_replicas }}{% endif %}</td>
    <td class="small">{{ r.status_reason }}</td>
    <td>{{ r.decided_by or '' }}</td>
    <td>{% if approve_url and r.waiting and r.run_id %}
      <form class="inline" method="post" action="{{ approve_url }}">
        <input type="hidden" name="run_id" value="{{ r.run_id }}">
        <button class="approve" name="choice" value="Approve">Approve</button>
        <button class="reject" name="choice" value="Reject">Reject</button>
      </form>
      <div class="muted small">run {{ r.run_id }}</div>
    {% endif %}</td>
  </tr>
  {% endfor %}
</table>
{%- endmacro %}
"""

INDEX = """<!doctype html>
{% from "macros.html" import alert_card, request_table %}
<html lang="en"><head><meta charset="utf-8"><title>Model health</title>
<style>{{ style }}</style></head>
<body>
<h1>Model health</h1>
<div class="muted">signed in as {{ user }} &middot; warehouse {{ warehouse }}
  {% if at %}&middot; as of {{ at|hour }} UTC{% endif %}</div>
{% if flash %}<p class="flash {{ 'error' if flash_error else '' }}">{{ flash }}</p>{% endif %}
{% if not at %}
<p>No run has been summarised yet: trigger <code>model_health</code> and come back.</p>
{% else %}
<nav class="day">
  <a href="?day={{ prev_day }}">&larr; {{ prev_day }}</a>
  <span><b>{{ day }}</b></span>
  <a href="?day={{ next_day }}">{{ next_day }} &rarr;</a>
  <a href="./">latest</a>
</nav>

<h2>Fleet by hour</h2>
<div class="legend small">
  <span><i class="sc-0"></i>score 0</span><span><i class="sc-5"></i>0.5</span>
  <span><i class="sc-9"></i>0.9+</span><span><i class="st-anomaly"></i>anomaly</span>
  <span><i class="st-quarantined"></i>quarantined</span>
  <span><i class="st-no_data"></i>no data</span>
  <span><i class="st-insufficient_history"></i>too little history</span>
  <span class="muted">a column header links to that hour's report</span>
</div>
<table class="heat" id="heatmap">
  <tr><th></th>{% for h in heat.hours %}<th>{% if h in heat.processed_hours %}<a
      href="{{ report_href(h) }}">{{ '%02d' % h.hour }}</a>{% else %}{{ '%02d' % h.hour }}{% endif
      %}</th>{% endfor %}</tr>
  {% for m in heat.models %}
  <tr><th class="model">{{ m }}</th>
    {% for h in heat.hours %}{% set c = heat.cell(m, h) %}
    {% if c %}<td class="{{ c.css }}" title="{{ m }} {{ h|hour }}: {{ c.title }}"></td>
    {% else %}<td></td>{% endif %}
    {% endfor %}
  </tr>
  {% endfor %}
</table>
{% if heat.hidden_models %}<p class="muted small">{{ heat.hidden_models }} more models without
  trouble are not shown.</p>{% endif %}
{% if not heat.models %}<p class="muted">No scores for this day.</p>{% endif %}

<h2>Alerts open at {{ at|hour }}</h2>
<div id="alerts">
{% for a in alerts %}
{{ alert_card(a, plots.get(a.alert_id), report_href(at), incident_href(a.alert_id)) }}
{% else %}
<p class="muted">No alert is open.</p>{% endfor %}
</div>

<h2>Remediation requests</h2>
<p class="muted small">The day's requests, and every one still waiting for an operator. Approving
answers the run's approval task in Airflow (Required Actions) as you.</p>
{% if requests %}{{ request_table(requests, approve_url) }}{% else %}
<p class="muted">No requests.</p>{% endif %}

<h2>Silences</h2>
{% if silences %}
<table class="list silences">
  <tr><th>silence</th><th>state</th><th>matches</th><th>from</th><th>until</th><th>by</th>
      <th>why</th></tr>
  {% for s in silences %}
  <tr><td class="small">{{ s.silence_id }}</td><td><span class="badge {{ s.state }}">{{ s.state
      }}</span></td>
    <td>{% for k, v in s.matchers.items() %}{{ k }}={{ v }} {% endfor %}</td>
    <td>{{ s.starts_at|hour(minutes=True) }}</td><td>{{ s.ends_at|hour(minutes=True) }}</td>
    <td>{{ s.created_by }}{% if s.expired_by %} (expired by {{ s.expired_by }}){% endif %}</td>
    <td>{{ s.comment }}</td></tr>
  {% endfor %}
</table>
{% else %}<p class="muted">No silence in force or recently ended.</p>{% endif %}

<h2>Runs</h2>
<table class="list runs">
  <tr><th>hour</th><th class="num">scored</th><th class="num">quarantined</th>
      <th class="num">no data</th><th class="num">anomalous</th><th class="num">alerts +/-</th>
      <th class="num">firing</th><th class="num">requests</th><th>report</th></tr>
  {% for r in runs %}
  <tr><td>{{ r.hour|hour }}</td><td class="num">{{ r.models_scored }}</td>
    <td class="num">{{ r.models_quarantined }}</td><td class="num">{{ r.models_no_data }}</td>
    <td class="num">{{ r.models_anomalous }}</td>
    <td class="num">+{{ r.alerts_opened }}/-{{ r.alerts_resolved }}</td>
    <td class="num">{{ r.alerts_firing }}</td><td class="num">{{ r.remediation_requests }}</td>
    <td><a href="{{ report_href(r.hour) }}">report</a></td></tr>
  {% else %}<tr><td colspan="9" class="muted">No run this day.</td></tr>{% endfor %}
</table>
{% endif %}
</body></html>
"""

REPORT = """<!doctype html>
{% from "macros.html" import alert_card, request_table, metrics_table %}
<html lang="en"><head><meta charset="utf-8">
<title>model_health {{ hour|hour }} UTC</title><style>{{ style }}</style></head>
<body>
<h1>model_health: {{ hour|hour }} UTC</h1>
<div class="muted">written by run {{ run_id or 'unknown' }}
  {% if run_url %}(<a href="{{ run_url }}" target="_top">in Airflow</a>){% endif %}
  {% if models %} for models {{ models|join(', ') }}{% endif %}
  &middot; <a href="../../">Model health view</a></div>
{% if summary %}
<p class="figures">
  <span><b>{{ summary.models_scored }}</b> scored</span>
  <span><b>{{ summary.models_anomalous }}</b> anomalous</span>
  <span><b>{{ summary.models_quarantined }}</b> quarantined</span>
  <span><b>{{ summary.models_no_data }}</b> without data</span>
  <span><b>+{{ summary.alerts_opened }}/-{{ summary.alerts_resolved }}</b> alerts
    ({{ summary.alerts_firing }} firing)</span>
  <span><b>{{ summary.remediation_requests }}</b> remediation requests</span>
</p>
{% endif %}

<h2>Alerts</h2>
{% for a in alerts %}
{{ alert_card(a, plots.get(a.alert_id), incident=incident_href(a.alert_id, "../../")) }}
{% else %}
<p class="muted">No alert open or resolved in this hour.</p>{% endfor %}

<h2>Anomalous models</h2>
{% set anomalous = scores|selectattr('is_anomaly')|list %}
{% for s in anomalous %}
<div class="card"><h3>{{ s.model_id }} <span class="muted">score {{ s.score|num(3) }}
  (threshold {{ s.threshold|num(3) }})</span></h3>{{ metrics_table(s.metrics) }}</div>
{% else %}<p class="muted">None.</p>{% endfor %}

<h2>Prediction drift</h2>
{% set drifted = drift|selectattr('drifted')|rejectattr('feature', 'equalto', 'label')|list %}
{% set labelled = drift|selectattr('feature', 'equalto', 'label')|list %}
{% if drifted %}
<table class="list drift"><tr><th>model</th><th>feature</th><th>test</th>
  <th class="num">statistic</th><th class="num">threshold</th><th class="num">p-value</th>
  <th>reference</th><th class="num">samples</th></tr>
{% for d in drifted %}<tr><td>{{ d.model_id }}</td><td>{{ d.feature }}</td><td>{{ d.test }}</td>
  <td class="num">{{ d.statistic|num(3) }}</td><td class="num">{{ d.threshold|num(3) }}</td>
  <td class="num">{{ d.p_value|num(3) }}</td><td class="small">{{ d.reference }}</td>
  <td class="num">{{ d.n_current }}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">No model's predictions drifted from their reference.</p>
{% endif %}
{% if labelled %}
<h3>Labelled hours: error next to the reference's</h3>
<table class="list performance"><tr><th>model</th><th>metric</th><th class="num">this hour</th>
  <th class="num">reference</th><th class="num">limit</th><th>worse</th>
  <th class="num">labels</th></tr>
{% for d in labelled %}<tr><td>{{ d.model_id }}</td><td>{{ d.test }}</td>
  <td class="num">{{ d.statistic|num(3) }}</td><td class="num">{{ d.baseline|num(3) }}</td>
  <td class="num">{{ d.threshold|num(3) }}</td><td>{{ 'yes' if d.drifted else 'no' }}</td>
  <td class="num">{{ d.n_current }}</td></tr>{% endfor %}
</table>
{% endif %}

<h2>Kept out of detection</h2>
{% if kept_out %}
<table class="list"><tr><th>model</th><th>status</th><th class="num">rows</th>
  <th>failed checks</th></tr>
{% for v in kept_out %}<tr><td>{{ v.model_id }}</td><td>{{ v.status }}</td>
  <td class="num">{{ v.n_rows }}</td><td class="small">{{ v.failed_checks }}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">None: every model delivered good data.</p>{% endif %}

<h2>Remediation requests</h2>
{% if requests %}{{ request_table(requests) }}{% else %}<p class="muted">None.</p>{% endif %}

<h2>Notifications</h2>
{% if notifications %}
<table class="list"><tr><th>alert</th><th>event</th><th>receiver</th><th>state</th>
  <th>detail</th></tr>
{% for n in notifications %}<tr><td>{{ n.alert_id }}</td><td>{{ n.event }}</td>
  <td>{{ n.receiver }}</td><td>{{ n.state }}</td><td class="small">{{ n.detail }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">None.</p>{% endif %}

<h2>Every model</h2>
<details><summary>{{ scores|length }} models</summary>
<table class="list"><tr><th>model</th><th>status</th><th class="num">score</th>
  <th>top metrics</th></tr>
{% for s in scores %}<tr><td>{{ s.model_id }}</td><td>{{ s.status }}</td>
  <td class="num">{{ s.score|num(3) }}</td><td class="small">{{ s.top_metrics }}</td></tr>
{% endfor %}</table></details>
</body></html>
"""

ERROR = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model health</title>
<style>{{ style }}</style></head>
<body><h1>Model health</h1><p class="flash error">{{ message }}</p>
<p><a href="./">Try again</a></p></body></html>
"""


def _hour(value: datetime | None, minutes: bool = False) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d %H:00")


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if digits >= 3 and abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.{digits}g}" if digits >= 3 else f"{x:+.{digits}f}"


def environment() -> Environment:
    env = Environment(
        loader=DictLoader(
            {
                "macros.html": MACROS,
                "index.html": INDEX,
                "report.html": REPORT,
                "error.html": ERROR,
                "incident.html": INCIDENT,
            }
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hour"] = _hour
    env.filters["num"] = _num
    env.globals["incident_href"] = incident_href
    env.globals["style"] = Markup(STYLE)  # our own CSS, not data: never escaped
    return env


_ENV: Environment | None = None


def render(name: str, **context: Any) -> str:
    """Render one of the templates above."""
    global _ENV
    if _ENV is None:
        _ENV = environment()
    return _ENV.get_template(name).render(**context)
