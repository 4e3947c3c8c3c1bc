"""The incident page's template (registered by `modelwatch.ui.render`): one alert, end to end.

Sections in the order on-call asks: what happened (the plot), what the detector said each hour
and why, what was sent to whom, what to look at (hints), and what was done (requests, with
every status change and who decided).
"""

INCIDENT = """<!doctype html>
{% from "macros.html" import metrics_table %}
<html lang="en"><head><meta charset="utf-8">
<title>Incident {{ alert.alert_id }}</title><style>{{ style }}
table.list { border-collapse: collapse; margin-bottom: 8px; }
table.list td, table.list th { border-bottom: 1px solid #e1e4e8; padding: 3px 8px;
  text-align: left; vertical-align: top; }
tr.in-alert { background: #fff5f5; } .muted { color: #6a737d; } .small { font-size: 12px; }
.num { text-align: right; } img.plot { max-width: 100%; border: 1px solid #e1e4e8; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; background: #eee; }
.badge.critical { background: #b71c1c; color: #fff; } .badge.warning { background: #f9a825; }
</style></head>
<body>
<p><a href="{{ back }}">&larr; Model health</a>
{% if shadow %} &middot; <strong>what-if shadow {{ shadow }}</strong>{% endif %}</p>
<h1 id="incident" data-alert-id="{{ alert.alert_id }}">
  <span class="badge {{ alert.severity }}">{{ alert.severity }}</span> {{ alert.alert_id }}</h1>
<p class="muted">model {{ alert.model_id }} &middot; {{ alert.kind }} &middot;
  opened {{ alert.opened_hour|hour }} &middot; last signal {{ alert.last_signal_hour|hour }}
  &middot; {% if alert.resolved_hour %}resolved {{ alert.resolved_hour|hour }}
  {% else %}still open{% endif %}
  {% if alert.peak_score is not none %}&middot; peak score {{ alert.peak_score|num(3) }}{% endif %}
</p>
<p>{{ alert.summary }}</p>
{{ metrics_table(alert.metrics) }}
{% if plot %}<img class="plot" src="{{ plot }}" alt="metrics of {{ alert.alert_id }}">{% endif %}

<h2>Verdicts by hour</h2>
<table class="list verdicts">
  <tr><th>hour</th><th>gate</th><th>status</th><th class="num">score</th><th>anomaly</th>
      <th>why</th></tr>
  {% for v in verdicts %}
  <tr class="{{ 'in-alert' if v.in_alert else '' }}">
    <td>{{ v.hour|hour }}</td><td>{{ v.gate or '' }}</td><td>{{ v.status }}</td>
    <td class="num">{{ v.score|num(3) }}</td><td>{{ 'yes' if v.is_anomaly else '' }}</td>
    <td class="small">{% for m in v.metrics %}{{ m.metric }} {{ m.observed|num }}
      (baseline {{ m.baseline|num }}, z {{ m.robust_z|num(1) }}){% if not loop.last %};
      {% endif %}{% endfor %}{% if v.failed_checks and v.failed_checks != '[]' %}
      {{ v.failed_checks }}{% endif %}</td>
  </tr>
  {% endfor %}
</table>

<h2>Events and notifications</h2>
{% if events %}
<table class="list notifications">
  <tr><th>hour</th><th>event</th><th>receiver</th><th>state</th><th class="num">attempts</th>
      <th>detail</th></tr>
  {% for e in events %}{% for n in e.receivers %}
  <tr><td>{{ e.hour|hour }}</td><td>{{ e.event }}</td><td>{{ n.receiver }}</td>
      <td>{{ n.state }}</td><td class="num">{{ n.attempts }}</td>
      <td class="small">{{ n.detail }}</td></tr>
  {% endfor %}{% endfor %}
</table>
{% else %}<p class="muted">No notification was due.</p>{% endif %}

<h2>Hints</h2>
{% if hints is none %}<p class="muted">No hints in this warehouse.</p>
{% elif hints %}
<table class="list hints">
  <tr><th>hour</th><th>#</th><th>kind</th><th>hint</th><th class="num">score</th></tr>
  {% for h in hints %}
  <tr><td>{{ h.hour|hour }}</td><td>{{ h.rank }}</td><td>{{ h.kind }}</td>
      <td>{{ h.summary }}<div class="muted small">{{ h.evidence }}</div></td>
      <td class="num">{{ h.score|num(3) }}</td></tr>
  {% endfor %}
</table>
{% else %}<p class="muted">No hints for this alert.</p>{% endif %}

<h2>Remediation</h2>
{% for r in requests %}
<div class="request" data-request-id="{{ r.request_id }}">
  <h3>{{ r.action }} at {{ r.hour|hour }}: {{ r.status|replace('_', ' ') }}
    {% if r.from_replicas is not none %}({{ r.from_replicas }} &rarr; {{ r.to_replicas }}
    replicas){% endif %}</h3>
  <p class="small">{{ r.reason }} &middot; mode {{ r.mode }}
    {% if r.decided_by %}&middot; decided by {{ r.decided_by }}{% endif %}
    {% if r.approved_by %}&middot; answered by {{ r.approved_by|join(', ') }}{% endif %}</p>
  <table class="list trail">
    <tr><th>#</th><th>from</th><th>to</th><th>why</th><th>by</th><th>run</th>
        <th>recorded</th></tr>
    {% for t in r.events %}
    <tr><td>{{ t.seq }}</td><td>{{ t.from_status or '' }}</td><td>{{ t.to_status }}</td>
        <td class="small">{{ t.status_reason }}</td><td>{{ t.actor or '' }}</td>
        <td class="small">{{ t.run_id }}</td><td>{{ t.recorded_at|hour(true) }}</td></tr>
    {% endfor %}
  </table>
</div>
{% else %}<p class="muted">No remediation request answers this alert.</p>{% endfor %}
</body></html>
"""
