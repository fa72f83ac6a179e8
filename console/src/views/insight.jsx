// Insight (issue 19): the operator leaderboard over a date range, and per source the hourly
// timeline, the what-if simulator next to what happened, weight suggestions with their
// evidence (accept or reject), auto-tune, and the weights' history.
import { useMemo, useState } from "preact/hooks";
import { useAction, useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { ShareChart, TimelineChart } from "../charts.jsx";
import { Badge, Button, Check, Empty, ErrorMessage, Field, Loading, Notice, Page, Section, ShareBar } from "../ui.jsx";

const DAY_MS = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
// The default range: the last 7 days, today (UTC) included.
export const lastWeek = (now = Date.now()) => ({ from: isoDay(now - 6 * DAY_MS), to: isoDay(now) });

// Seconds as a clock (1:05, 1:02:03): reads the same in every language; null is a dash.
function useDuration() {
  const { fmt } = useI18n();
  return (seconds) => (seconds === null || seconds === undefined ? "—" : fmt.clock(Math.round(seconds)));
}

function RangePicker({ range, setRange, children }) {
  const { t } = useI18n();
  const set = (name) => (event) => {
    const value = event.currentTarget.value;
    if (value) setRange({ ...range, [name]: value });
  };
  return (
    <div class="inline-form range-picker">
      <Field label={t("insight.from")}>{(id) => <input id={id} type="date" value={range.from} max={range.to} onChange={set("from")} />}</Field>
      <Field label={t("insight.to")}>{(id) => <input id={id} type="date" value={range.to} min={range.from} onChange={set("to")} />}</Field>
      {children}
      <Button kind="ghost" onClick={() => setRange(lastWeek())}>
        {t("insight.last_week")}
      </Button>
    </div>
  );
}

// [field, label key, how to show it, hidden on a phone]
const COLUMNS = [
  ["assigned", "insight.col.assigned", "number", false],
  ["accept_p50_seconds", "insight.col.accept_p50", "duration", false],
  ["accept_p90_seconds", "insight.col.accept_p90", "duration", true],
  ["close_p50_seconds", "insight.col.close_p50", "duration", true],
  ["conversion", "insight.col.conversion", "bar", false],
  ["sla_lapses", "insight.col.sla_lapses", "number", false],
];

// Nulls (no data) go last whichever way the column is sorted.
export function sortRows(rows, key, dir) {
  const sign = dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
    if (y === null || y === undefined) return -1;
    if (typeof x === "string") return sign * x.localeCompare(y);
    return sign * (x - y);
  });
}

function Leaderboard({ range, sourceId }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const duration = useDuration();
  const path = `/stats/operators?from=${range.from}&to=${range.to}${sourceId ? `&source_id=${encodeURIComponent(sourceId)}` : ""}`;
  const stats = useLoad(() => api.get(path), [path]);
  const [sort, setSort] = useState({ key: "assigned", dir: "desc" });
  if (!stats.data) return stats.error ? <ErrorMessage error={stats.error} /> : <Loading />;
  const rows = sortRows(stats.data.operators, sort.key, sort.dir);
  const toggle = (key) => setSort(sort.key === key ? { key, dir: sort.dir === "asc" ? "desc" : "asc" } : { key, dir: key === "name" ? "asc" : "desc" });
  const header = (key, label, narrow = false) => {
    const active = sort.key === key;
    return (
      <th scope="col" key={key} class={narrow ? "hide-narrow" : undefined} aria-sort={active ? (sort.dir === "asc" ? "ascending" : "descending") : undefined}>
        <button type="button" class="sort" onClick={() => toggle(key)}>
          {t(label)}
          <span aria-hidden="true" class="sort-mark">
            {active ? (sort.dir === "asc" ? "▲" : "▼") : "↕"}
          </span>
        </button>
      </th>
    );
  };
  const cell = (row, [key, , kind, narrow]) => {
    const value = row[key];
    let shown;
    if (kind === "duration") shown = duration(value);
    else if (kind === "bar")
      shown = value === null || value === undefined ? "—" : <ShareBar share={value} label={t("insight.conversion_of", { name: row.name })} />;
    else shown = fmt.number(value);
    return (
      <td key={key} class={narrow ? "hide-narrow" : kind === "bar" ? "cell-bar" : undefined}>
        {shown}
      </td>
    );
  };
  return (
    <>
      {stats.error && <ErrorMessage error={stats.error} />}
      {rows.length ? (
        <div class="table-scroll" role="region" aria-label={t("insight.leaderboard")} tabIndex={0}>
          <table class="table compact leaderboard">
            <caption class="sr-only">{t("insight.leaderboard_caption", { from: range.from, to: range.to })}</caption>
            <thead>
              <tr>
                {header("name", "weights.operator")}
                {COLUMNS.map(([key, label, , narrow]) => header(key, label, narrow))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.operator_id}>
                  <th scope="row">
                    <a href={href(`/operators/${row.operator_id}`)}>{row.name}</a>
                  </th>
                  {COLUMNS.map((column) => cell(row, column))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>{t("insight.no_stats")}</Empty>
      )}
      <p class="hint">{t("insight.as_of", { at: fmt.dateTime(stats.data.as_of) })}</p>
    </>
  );
}

export function Insight() {
  const { api } = useApp();
  const { t } = useI18n();
  const [range, setRange] = useState(lastWeek);
  const [sourceId, setSourceId] = useState("");
  const sources = useLoad(() => api.all("/sources"), []);
  const list = sources.data || [];
  return (
    <Page title={t("insight.title")} subtitle={t("insight.subtitle")}>
      <Section title={t("insight.leaderboard")}>
        <RangePicker range={range} setRange={setRange}>
          <Field label={t("insight.source_filter")}>
            {(id) => (
              <select id={id} value={sourceId} onChange={(e) => setSourceId(e.currentTarget.value)}>
                <option value="">{t("insight.all_sources")}</option>
                {list.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </RangePicker>
        <Leaderboard range={range} sourceId={sourceId} />
      </Section>
      <Section title={t("insight.per_source")}>
        <p class="hint">{t("insight.per_source_hint")}</p>
        <ErrorMessage error={sources.error} />
        {!sources.data ? (
          !sources.error && <Loading />
        ) : list.length ? (
          <ul class="link-list">
            {list.map((s) => (
              <li key={s.id}>
                <a href={href(`/insight/${s.id}`)}>{s.name}</a>
                {s.auto_tune && <Badge tone="info">{t("insight.auto_tune_on")}</Badge>}
              </li>
            ))}
          </ul>
        ) : (
          <Empty>{t("dashboard.no_sources")}</Empty>
        )}
      </Section>
    </Page>
  );
}

function Timeline({ source }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const duration = useDuration();
  const [range, setRange] = useState(lastWeek);
  const path = `/stats/sources/${encodeURIComponent(source.id)}/timeline?from=${range.from}&to=${range.to}`;
  const timeline = useLoad(() => api.get(path), [path]);
  // The API answers every hour of the range, the rest of today included, each with the line as it
  // stands now; hours not yet begun are no history, so they are neither drawn nor counted.
  const now = Date.now();
  const hours = ((timeline.data && timeline.data.hours) || []).filter((h) => Date.parse(h.hour) <= now);
  const busy = hours.filter((h) => h.arrivals || h.assigned || h.waiting);
  const totals = hours.reduce((sum, h) => ({ arrivals: sum.arrivals + h.arrivals, assigned: sum.assigned + h.assigned }), { arrivals: 0, assigned: 0 });
  return (
    <>
      <RangePicker range={range} setRange={setRange} />
      {timeline.error && <ErrorMessage error={timeline.error} />}
      {!timeline.data ? (
        !timeline.error && <Loading />
      ) : (
        <>
          <div class="kpis">
            <div class="kpi">
              <span class="kpi-value">{fmt.number(totals.arrivals)}</span>
              <span class="kpi-label">{t("timeline.arrivals")}</span>
            </div>
            <div class="kpi">
              <span class="kpi-value">{fmt.number(totals.assigned)}</span>
              <span class="kpi-label">{t("timeline.assigned")}</span>
            </div>
          </div>
          <TimelineChart hours={hours} label={t("timeline.chart_label", { name: source.name })} />
          <details class="details">
            <summary>{t.n("timeline.busy_hours", busy.length)}</summary>
            {busy.length ? (
              <table class="table compact">
                <thead>
                  <tr>
                    <th scope="col">{t("timeline.hour")}</th>
                    <th scope="col">{t("timeline.arrivals")}</th>
                    <th scope="col">{t("timeline.assigned")}</th>
                    <th scope="col">{t("timeline.waiting")}</th>
                    <th scope="col">{t("timeline.median_wait_column")}</th>
                  </tr>
                </thead>
                <tbody>
                  {busy.map((h) => (
                    <tr key={h.hour}>
                      <th scope="row">{fmt.dateTime(h.hour)}</th>
                      <td>{fmt.number(h.arrivals)}</td>
                      <td>{fmt.number(h.assigned)}</td>
                      <td>{fmt.number(h.waiting)}</td>
                      <td>{duration(h.median_wait_seconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <Empty>{t("timeline.quiet")}</Empty>
            )}
          </details>
        </>
      )}
    </>
  );
}

const STRATEGIES = ["weighted", "weighted_capacity"];

function Simulator({ source, operators, weights }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const duration = useDuration();
  const current = useMemo(() => new Map(weights.map((w) => [w.operator_id, w.weight])), [weights]);
  // Those with a weight first (the current set), then, on request, everyone else at 0.
  const everyone = useMemo(
    () => [...operators].sort((a, b) => Number(current.has(b.id)) - Number(current.has(a.id))),
    [operators, current],
  );
  const [showAll, setShowAll] = useState(current.size === 0);
  const people = showAll ? everyone : everyone.filter((o) => current.has(o.id));
  const others = everyone.length - everyone.filter((o) => current.has(o.id)).length;
  const [form, setForm] = useState(() => ({
    weights: Object.fromEntries(everyone.map((o) => [o.id, String(current.get(o.id) || 0)])),
    capacities: Object.fromEntries(everyone.map((o) => [o.id, String(o.max_load)])),
    strategy: source.strategy,
    n: "1000",
    seed: "0",
  }));
  const [result, setResult] = useState(null);
  const action = useAction();
  const setIn = (part, id) => (event) => setForm({ ...form, [part]: { ...form[part], [id]: event.currentTarget.value } });
  const set = (name) => (event) => setForm({ ...form, [name]: event.currentTarget.value });
  const run = (event) => {
    event.preventDefault();
    action.run(async () => {
      const chosen = people.filter((o) => Number(form.weights[o.id]) > 0);
      const body = {
        weights: Object.fromEntries(chosen.map((o) => [o.id, Number(form.weights[o.id])])),
        capacities: Object.fromEntries(chosen.map((o) => [o.id, Number(form.capacities[o.id])])),
        strategy: form.strategy,
        n: Number(form.n),
        seed: Number(form.seed),
      };
      setResult(await api.post(`/sources/${encodeURIComponent(source.id)}/simulate`, body));
      announce(t("sim.done_note"));
    });
  };
  const summaryRows = [
    ["sim.appeals_assigned", (s) => fmt.number(s.assigned)],
    ["sim.never_assigned", (s) => fmt.number(s.never_assigned)],
    ["sim.waited", (s) => fmt.number(s.waited)],
    ["sim.mean_wait", (s) => duration(s.mean_wait_seconds)],
    ["sim.p90_wait", (s) => duration(s.p90_wait_seconds)],
    ["sim.sla_lapses", (s) => fmt.number(s.sla_lapses)],
  ];
  return (
    <div class="stack">
      {/* noValidate: the API's 422 names the field (N over the cap, an unknown operator) in words. */}
      <form onSubmit={run} class="stack-tight" noValidate>
        <p class="hint">{t("sim.hint")}</p>
        <div class="table-scroll" role="region" aria-label={t("sim.proposed")} tabIndex={0}>
          <table class="table compact weights">
            <thead>
              <tr>
                <th scope="col">{t("weights.operator")}</th>
                <th scope="col">{t("sim.weight")}</th>
                <th scope="col">{t("sim.capacity")}</th>
              </tr>
            </thead>
            <tbody>
              {people.map((o) => (
                <tr key={o.id}>
                  <th scope="row">{o.name}</th>
                  <td>
                    <input
                      type="number"
                      class="weight-input"
                      min={0}
                      max={100}
                      inputMode="numeric"
                      aria-label={t("sim.weight_of", { name: o.name })}
                      value={form.weights[o.id]}
                      onInput={setIn("weights", o.id)}
                    />
                  </td>
                  <td>
                    <input
                      type="number"
                      class="weight-input"
                      min={0}
                      max={1000}
                      inputMode="numeric"
                      aria-label={t("sim.capacity_of", { name: o.name })}
                      value={form.capacities[o.id]}
                      onInput={setIn("capacities", o.id)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!showAll && others > 0 && (
          <div>
            <Button kind="ghost" onClick={() => setShowAll(true)}>
              {t.n("sim.add_others", others)}
            </Button>
          </div>
        )}
        <div class="form-row">
          <Field label={t("field.strategy")}>
            {(id) => (
              <select id={id} value={form.strategy} onChange={set("strategy")}>
                {STRATEGIES.map((s) => (
                  <option key={s} value={s}>
                    {t(`strategy.${s}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("field.n")} hint={t("sim.n_hint")}>
            {(id, hint) => <input id={id} type="number" min={1} max={10000} inputMode="numeric" value={form.n} aria-describedby={hint} onInput={set("n")} />}
          </Field>
          <Field label={t("field.seed")} hint={t("sim.seed_hint")}>
            {(id, hint) => <input id={id} type="number" min={0} inputMode="numeric" value={form.seed} aria-describedby={hint} onInput={set("seed")} />}
          </Field>
        </div>
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={action.busy}>
            {t("sim.run")}
          </button>
        </div>
        <ErrorMessage error={action.error} onDismiss={action.clear} />
      </form>
      {result && (
        <div class="stack-tight sim-result" aria-label={t("sim.results")} role="region">
          <h3 class="subhead">{t.n("sim.replayed", result.appeals)}</h3>
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">
                  <span class="sr-only">{t("sim.measure")}</span>
                </th>
                <th scope="col">{t("sim.predicted")}</th>
                <th scope="col">{t("sim.recorded")}</th>
              </tr>
            </thead>
            <tbody>
              {summaryRows.map(([label, show]) => (
                <tr key={label}>
                  <th scope="row">{t(label)}</th>
                  <td>{show(result.predicted)}</td>
                  <td>{show(result.recorded)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3 class="subhead">{t("sim.shares")}</h3>
          <ShareChart
            rows={result.operators.map((o) => ({ name: o.operator_name, target: o.predicted_share, actual: o.recorded_share }))}
            names={[t("sim.predicted"), t("sim.recorded")]}
            label={t("sim.chart_label", { name: source.name })}
          />
          <div class="table-scroll" role="region" aria-label={t("sim.per_operator")} tabIndex={0}>
            <table class="table compact">
              <thead>
                <tr>
                  <th scope="col">{t("weights.operator")}</th>
                  <th scope="col">{t("sim.share_predicted")}</th>
                  <th scope="col">{t("sim.share_recorded")}</th>
                  <th scope="col" class="hide-narrow">{t("sim.assigned_pr")}</th>
                  <th scope="col">{t("sim.load_pr")}</th>
                </tr>
              </thead>
              <tbody>
                {result.operators.map((o) => (
                  <tr key={o.operator_id}>
                    <th scope="row">{o.operator_name}</th>
                    <td>{fmt.percentFine(o.predicted_share)}</td>
                    <td>{fmt.percentFine(o.recorded_share)}</td>
                    <td class="hide-narrow">
                      {fmt.number(o.predicted_assigned)} / {fmt.number(o.recorded_assigned)}
                    </td>
                    <td>
                      {t("sim.load_value", {
                        mean: fmt.decimal(o.predicted_mean_load),
                        max: fmt.number(o.predicted_max_load),
                        rmean: fmt.decimal(o.recorded_mean_load),
                        rmax: fmt.number(o.recorded_max_load),
                      })}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}

function Suggestions({ source, onSource, onApplied }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const advice = useLoad(() => api.get(`/sources/${encodeURIComponent(source.id)}/suggestions`), [source.id]);
  const [rejected, setRejected] = useState(false);
  const [applied, setApplied] = useState(null);
  const action = useAction();
  // Shown as clicked at once (a controlled checkbox would spring back while the PATCH runs).
  const [autoTune, setAutoTune] = useState(Boolean(source.auto_tune));
  const toggle = (wanted) => {
    setAutoTune(wanted);
    return action.run(async () => {
      try {
        const saved = await api.patch(`/sources/${encodeURIComponent(source.id)}`, { auto_tune: wanted });
        onSource(saved);
        setAutoTune(Boolean(saved.auto_tune));
        announce(t(wanted ? "insight.auto_tune_on_note" : "insight.auto_tune_off_note"));
      } catch (error) {
        setAutoTune(!wanted);
        throw error;
      }
    });
  };
  const accept = () =>
    action.run(async () => {
      const done = await api.post(`/sources/${encodeURIComponent(source.id)}/suggestions/apply`);
      setApplied(done);
      announce(t.n("suggest.applied_note", done.changed));
      advice.reload();
      onApplied();
    });
  const rows = (advice.data && advice.data.operators) || [];
  const moves = rows.filter((o) => o.suggested_weight !== o.current_weight);
  return (
    <div class="stack-tight">
      <Check
        label={t("insight.auto_tune")}
        hint={t("insight.auto_tune_hint")}
        checked={autoTune}
        onChange={(value) => toggle(value)}
      />
      {advice.error && <ErrorMessage error={advice.error} />}
      {!advice.data ? (
        !advice.error && <Loading />
      ) : !rows.length ? (
        <Empty>{t("suggest.none")}</Empty>
      ) : (
        <>
          <p class="hint">{t.n("suggest.based_on", advice.data.appeals)}</p>
          <ul class="suggestions">
            {rows.map((o) => (
              <li key={o.operator_id} class="suggestion">
                <p class="operator-name">{o.operator_name}</p>
                <p>
                  {t("suggest.evidence", {
                    name: o.operator_name,
                    mean: fmt.percent(o.conversion_mean),
                    low: fmt.percent(o.conversion_low),
                    high: fmt.percent(o.conversion_high),
                    count: fmt.number(o.appeals),
                  })}
                </p>
                <ShareBar share={o.conversion_mean} label={t("insight.conversion_of", { name: o.operator_name })} />
                <p class="muted">
                  {t("suggest.move", { from: fmt.number(o.current_weight), to: fmt.number(o.suggested_weight) })}
                  {" · "}
                  {t("suggest.p_best", { p: fmt.percent(o.p_best) })}
                </p>
              </li>
            ))}
          </ul>
          {applied ? (
            <Notice tone="success">{t.n("suggest.applied_note", applied.changed)}</Notice>
          ) : rejected ? (
            <Notice>
              {t("suggest.rejected")}{" "}
              <Button kind="ghost" onClick={() => setRejected(false)}>
                {t("suggest.undo_reject")}
              </Button>
            </Notice>
          ) : moves.length ? (
            <div class="actions">
              <Button kind="primary" busy={action.busy} onClick={accept}>
                {t("suggest.accept")}
              </Button>
              <Button kind="ghost" onClick={() => (setRejected(true), announce(t("suggest.rejected")))}>
                {t("suggest.reject")}
              </Button>
            </div>
          ) : (
            <p class="ok-note">{t("suggest.nothing_to_change")}</p>
          )}
        </>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

// "suggestion", "manual" or "auto_tune: …": the kind in words, the rest (the server's evidence) as it is.
function reasonKind(reason) {
  const kind = String(reason || "").split(/[:\s]/)[0];
  return ["manual", "suggestion", "auto_tune"].includes(kind) ? kind : null;
}

function WeightHistory({ source, names, version }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const history = useLoad(() => api.get(`/sources/${encodeURIComponent(source.id)}/weights/history?limit=10`), [source.id, version]);
  if (!history.data) return history.error ? <ErrorMessage error={history.error} /> : <Loading />;
  const items = history.data.items;
  if (!items.length) return <Empty>{t("history.none")}</Empty>;
  return (
    <ol class="weight-history">
      {items.map((item) => {
        const kind = reasonKind(item.reason);
        const rest = kind ? item.reason.slice(kind.length).replace(/^[:\s]+/, "") : item.reason;
        return (
          <li key={item.at}>
            <p>
              <time datetime={item.at}>{fmt.dateTime(item.at)}</time> · <Badge tone="info">{kind ? t(`history.kind.${kind}`) : t("history.kind.unknown")}</Badge>
            </p>
            <p>
              {fmt.list(
                Object.entries(item.changes).map(([id, [from, to]]) =>
                  t("history.change", { name: names.get(id) || id, from: fmt.number(from), to: fmt.number(to) }),
                ),
              )}
            </p>
            {rest && <p class="muted small">{rest}</p>}
          </li>
        );
      })}
    </ol>
  );
}

export function SourceInsight({ sourceId }) {
  const { api } = useApp();
  const { t } = useI18n();
  const source = useLoad(() => api.get(`/sources/${encodeURIComponent(sourceId)}`), [sourceId]);
  const operators = useLoad(() => api.all("/operators"), []);
  const weights = useLoad(() => api.get(`/sources/${encodeURIComponent(sourceId)}/weights`), [sourceId]);
  const [version, setVersion] = useState(0);
  const back = (
    <a class="btn btn-ghost" href={href("/insight")}>
      {t("insight.back")}
    </a>
  );
  if (!source.data) {
    return (
      <Page title={t("insight.title")} actions={back}>
        {source.error ? <ErrorMessage error={source.error} /> : <Loading />}
      </Page>
    );
  }
  const s = source.data;
  const names = new Map((operators.data || []).map((o) => [o.id, o.name]));
  return (
    <Page title={t("insight.source_title", { name: s.name })} subtitle={t("insight.source_subtitle")} actions={back}>
      <div class="stack">
        <Section title={t("timeline.title")}>
          <Timeline source={s} />
        </Section>
        <div class="grid-2">
          <Section title={t("sim.title")}>
            <ErrorMessage error={operators.error || weights.error} />
            {operators.data && weights.data ? (
              <Simulator key={JSON.stringify(weights.data.items)} source={s} operators={operators.data} weights={weights.data.items} />
            ) : (
              !(operators.error || weights.error) && <Loading />
            )}
          </Section>
          <div class="stack">
            <Section title={t("suggest.title")}>
              <Suggestions
                source={s}
                onSource={source.setData}
                onApplied={() => {
                  weights.reload();
                  setVersion(version + 1);
                }}
              />
            </Section>
            <Section title={t("history.title")}>
              <WeightHistory source={s} names={names} version={version} />
            </Section>
          </div>
        </div>
      </div>
    </Page>
  );
}
