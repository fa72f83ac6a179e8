// Hours and presence (issue 18): an operator's own presence (available / paused with a
// reason) and weekly hours with time off, each 422 shown at its field; the admin's week
// of everyone: shifts as bars, time off shaded, presence badges.
import { useEffect, useMemo, useState } from "preact/hooks";
import { useAction, useApp, useLoad, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { Badge, Button, Empty, ErrorMessage, Field, Loading, Page, Section } from "../ui.jsx";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const REASONS = ["holiday", "leave", "sick", "other"];
// Catalogue keys of the time-off kinds ("…other" would read as a plural form).
const REASON_KEY = { holiday: "hours.off_holiday", leave: "hours.off_leave", sick: "hours.off_sick", other: "hours.off_misc" };
const DAY_MS = 86_400_000;

// Weekday names from Intl (2024-01-01 was a Monday): no catalogue needed.
function useWeekdays(style = "long") {
  const { fmt } = useI18n();
  return useMemo(() => {
    const format = new Intl.DateTimeFormat(fmt.lang, { weekday: style, timeZone: "UTC" });
    return DAYS.map((_, i) => format.format(new Date(Date.UTC(2024, 0, 1 + i))));
  }, [fmt.lang, style]);
}

export const presenceOf = (operator) => (operator ? operator.presence || (operator.is_active ? "available" : "paused") : "available");
const PRESENCE_TONE = { available: "success", paused: "warning", off_shift: "neutral" };

export function PresenceBadge({ presence }) {
  const { t } = useI18n();
  return <Badge tone={PRESENCE_TONE[presence] || "neutral"}>{t(`presence.${presence}`)}</Badge>;
}

function Presence() {
  const { api, me, announce, refreshMe } = useApp();
  const { t, fmt } = useI18n();
  // The sign-in's snapshot first, then /me as it is now: the shift job, an admin or the inbox
  // may have moved the presence since, and an old snapshot would offer the wrong switch.
  const [operator, setOperator] = useState(me.operator);
  const current = usePoll(api, "/me", 10000);
  useEffect(() => {
    if (current.data && current.data.operator) setOperator(current.data.operator);
  }, [current.data]);
  const [reason, setReason] = useState("");
  const action = useAction();
  const presence = presenceOf(operator);
  const change = (next) =>
    action.run(async () => {
      const body = next === "paused" && reason.trim() ? { presence: next, reason: reason.trim() } : { presence: next };
      setOperator(await api.patch("/me", body));
      setReason("");
      // Not awaited: the switch is usable again at once (a busy button is disabled and drops focus).
      current.refresh();
      refreshMe().catch(() => {});
      announce(t(next === "paused" ? "presence.paused_note" : "presence.resumed_note"));
    });
  return (
    <div class="stack-tight">
      <p class="presence-now">
        {t("presence.now")} <PresenceBadge presence={presence} />
        {operator.presence_reason && <span class="muted"> · {operator.presence_reason}</span>}
        {operator.presence_until && <span class="muted"> · {t("presence.until", { at: fmt.dateTime(operator.presence_until) })}</span>}
      </p>
      {presence !== "paused" ? (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            change("paused");
          }}
        >
          <Field label={t("field.reason")} hint={t("presence.reason_hint")}>
            {(id, hint) => (
              <input id={id} value={reason} maxLength={100} aria-describedby={hint} onInput={(e) => setReason(e.currentTarget.value)} />
            )}
          </Field>
          <button type="submit" class="btn btn-primary" disabled={action.busy}>
            {t("presence.pause")}
          </button>
        </form>
      ) : (
        <div class="actions">
          <Button kind="primary" busy={action.busy} onClick={() => change("available")}>
            {t("presence.resume")}
          </Button>
        </div>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

// --- The schedule editor ---------------------------------------------------------------------------------------------

const emptySchedule = () => ({
  time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
  week: Object.fromEntries(DAYS.map((day, i) => [day, i < 5 ? [{ start: "09:00", end: "18:00", overnight: false }] : []])),
  exceptions: [],
});

// The API's answer → the form's state (every day present, overnight explicit).
function toForm(schedule) {
  return {
    time_zone: schedule.time_zone,
    week: Object.fromEntries(DAYS.map((day) => [day, (schedule.week[day] || []).map((i) => ({ overnight: false, ...i }))])),
    exceptions: (schedule.exceptions || []).map((e) => (e.kind === "extra" ? { ...e, intervals: e.intervals.map((i) => ({ overnight: false, ...i })) } : { ...e })),
  };
}

// The form → the PUT body: only what was set (no empty days, overnight only when true).
export function toBody(form) {
  const interval = ({ start, end, overnight }) => (overnight ? { start, end, overnight: true } : { start, end });
  return {
    time_zone: form.time_zone,
    week: Object.fromEntries(DAYS.filter((day) => form.week[day].length).map((day) => [day, form.week[day].map(interval)])),
    exceptions: form.exceptions.map((e) =>
      e.kind === "extra"
        ? { kind: "extra", day: e.day, intervals: e.intervals.map(interval) }
        : { kind: "off", first_day: e.first_day, last_day: e.last_day, reason: e.reason },
    ),
  };
}

// A 422's problems by path, without the "body." its location starts with.
function problemsByPath(error) {
  const found = new Map();
  for (const problem of (error && error.status === 422 && error.details) || []) {
    const path = String(problem.path || "").replace(/^body\.?/, "");
    found.set(path, [...(found.get(path) || []), problem.msg]);
  }
  return found;
}

// Every path the form shows a message at, so the rest can be listed above it.
function shownPaths(form) {
  const paths = new Set(["time_zone", "week", "exceptions"]);
  const intervals = (prefix, list) =>
    list.forEach((_, i) => ["", ".start", ".end", ".overnight"].forEach((leaf) => paths.add(`${prefix}.${i}${leaf}`)));
  DAYS.forEach((day) => {
    paths.add(`week.${day}`);
    intervals(`week.${day}`, form.week[day]);
  });
  form.exceptions.forEach((e, i) => {
    ["", ".first_day", ".last_day", ".reason", ".day", ".intervals", ".kind"].forEach((leaf) => paths.add(`exceptions.${i}${leaf}`));
    if (e.kind === "extra") intervals(`exceptions.${i}.intervals`, e.intervals);
  });
  return paths;
}

// An input with its problems under it (aria-invalid, aria-describedby).
function Problem({ id, messages }) {
  if (!messages || !messages.length) return null;
  return (
    <p class="field-error" id={id}>
      {messages.join("; ")}
    </p>
  );
}

function Input({ label, path, problems, value, onValue, ...rest }) {
  const messages = problems.get(path);
  return (
    <Field label={label}>
      {(id) => (
        <>
          <input
            id={id}
            value={value}
            aria-invalid={messages ? "true" : undefined}
            aria-describedby={messages ? `${id}-error` : undefined}
            onInput={(e) => onValue(e.currentTarget.value)}
            {...rest}
          />
          <Problem id={`${id}-error`} messages={messages} />
        </>
      )}
    </Field>
  );
}

function Intervals({ path, list, setList, problems, dayName }) {
  const { t } = useI18n();
  const update = (i, patch) => setList(list.map((item, j) => (j === i ? { ...item, ...patch } : item)));
  return (
    <div class="intervals">
      {list.map((item, i) => (
        <div class="interval" key={i} role="group" aria-label={t("hours.interval_of", { day: dayName, n: i + 1 })}>
          <Input label={t("hours.start")} type="time" path={`${path}.${i}.start`} problems={problems} value={item.start} onValue={(start) => update(i, { start })} required />
          <Input label={t("hours.end")} type="time" path={`${path}.${i}.end`} problems={problems} value={item.end} onValue={(end) => update(i, { end })} required />
          <label class="check interval-overnight">
            <input type="checkbox" checked={item.overnight} onChange={(e) => update(i, { overnight: e.currentTarget.checked })} />
            {t("hours.overnight")}
          </label>
          <Button kind="ghost" class="btn btn-ghost btn-small" onClick={() => setList(list.filter((_, j) => j !== i))} aria-label={t("hours.remove_interval", { day: dayName, n: i + 1 })}>
            {t("hours.remove")}
          </Button>
          <Problem id={`${path}-${i}-problem`} messages={[...(problems.get(`${path}.${i}`) || []), ...(problems.get(`${path}.${i}.overnight`) || [])]} />
        </div>
      ))}
      <Button kind="ghost" class="btn btn-ghost btn-small" onClick={() => setList([...list, { start: "09:00", end: "18:00", overnight: false }])} aria-label={t("hours.add_interval_to", { day: dayName })}>
        {t("hours.add_interval")}
      </Button>
    </div>
  );
}

// The browser's zones, plus current names its ICU may still spell the old way (Chromium lists
// Europe/Kiev, not Europe/Kyiv) and UTC itself; the one in use always stays selectable.
const ALSO = ["UTC", "Europe/Kyiv", "America/Nuuk", "Asia/Kolkata"];
function zones(current) {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = new Set([...known, ...ALSO]);
  if (current) all.add(current);
  return [...all].sort();
}

// `own`: the operator's own hours ("you are always on shift") or, for an admin, someone else's.
export function ScheduleEditor({ path, own = true }) {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const weekdays = useWeekdays();
  const loaded = useLoad(async () => {
    try {
      const answer = await api.get(path);
      return answer && answer.time_zone ? answer : null;
    } catch (error) {
      if (error.status === 404) return null;
      throw error;
    }
  }, [path]);
  const [draft, setDraft] = useState(null);
  const action = useAction();
  const [saved, setSaved] = useState(false);
  if (loaded.data === undefined) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Loading />;
  const form = draft || (loaded.data ? toForm(loaded.data) : null);
  if (!form) {
    return (
      <div class="stack-tight">
        <p>{t(own ? "hours.none" : "hours.none_other")}</p>
        <div class="actions">
          <Button kind="primary" onClick={() => setDraft(emptySchedule())}>
            {t(own ? "hours.set_up" : "hours.set_up_other")}
          </Button>
        </div>
      </div>
    );
  }
  const problems = problemsByPath(action.error);
  const shown = shownPaths(form);
  const elsewhere = [...problems].filter(([p]) => !shown.has(p));
  const edit = (next) => {
    setSaved(false);
    setDraft(next);
  };
  const setDay = (day) => (list) => edit({ ...form, week: { ...form.week, [day]: list } });
  const setException = (i, patch) => edit({ ...form, exceptions: form.exceptions.map((e, j) => (j === i ? { ...e, ...patch } : e)) });
  const save = (event) => {
    event.preventDefault();
    action.run(async () => {
      loaded.setData(await api.put(path, toBody(form)));
      setDraft(null);
      setSaved(true);
      announce(t("hours.saved_note"));
    });
  };
  const remove = () =>
    action.run(async () => {
      await api.del(path);
      loaded.setData(null);
      setDraft(null);
      announce(t("hours.removed_note"));
    });
  const tzMessages = problems.get("time_zone");
  const today = new Date().toISOString().slice(0, 10);
  return (
    <form class="stack schedule" onSubmit={save} noValidate>
      {action.error && action.error.status === 422 && (
        <div class="alert alert-error" role="alert">
          <p class="alert-title">{t("error.422")}</p>
          <p>{t.n("hours.problems", problems.size)}</p>
          {elsewhere.length > 0 && (
            <ul>
              {elsewhere.map(([p, messages]) => (
                <li key={p}>
                  {p}: {messages.join("; ")}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {action.error && action.error.status !== 422 && <ErrorMessage error={action.error} onDismiss={action.clear} />}
      <Field label={t("field.time_zone")}>
        {(id) => (
          <>
            <select
              id={id}
              value={form.time_zone}
              aria-invalid={tzMessages ? "true" : undefined}
              aria-describedby={tzMessages ? `${id}-error` : undefined}
              onChange={(e) => edit({ ...form, time_zone: e.currentTarget.value })}
            >
              {zones(form.time_zone).map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
            <Problem id={`${id}-error`} messages={tzMessages} />
          </>
        )}
      </Field>
      <fieldset class="week-editor">
        <legend>{t("hours.week")}</legend>
        {DAYS.map((day, i) => (
          <div class="day-row" key={day}>
            <p class="day-name">{weekdays[i]}</p>
            {!form.week[day].length && <p class="muted day-off">{t("hours.day_off")}</p>}
            <Intervals path={`week.${day}`} list={form.week[day]} setList={setDay(day)} problems={problems} dayName={weekdays[i]} />
            <Problem id={`week-${day}-problem`} messages={problems.get(`week.${day}`)} />
          </div>
        ))}
      </fieldset>
      <fieldset class="exceptions-editor">
        <legend>{t("hours.exceptions")}</legend>
        {!form.exceptions.length && <p class="muted">{t("hours.no_exceptions")}</p>}
        {form.exceptions.map((e, i) => (
          <div class="exception" key={i} role="group" aria-label={t(e.kind === "off" ? "hours.time_off_n" : "hours.extra_n", { n: i + 1 })}>
            <p class="day-name">{t(e.kind === "off" ? "hours.time_off_n" : "hours.extra_n", { n: i + 1 })}</p>
            {e.kind === "off" ? (
              <div class="form-row">
                <Input label={t("hours.first_day")} type="date" path={`exceptions.${i}.first_day`} problems={problems} value={e.first_day} onValue={(first_day) => setException(i, { first_day })} />
                <Input label={t("hours.last_day")} type="date" path={`exceptions.${i}.last_day`} problems={problems} value={e.last_day} onValue={(last_day) => setException(i, { last_day })} />
                <Field label={t("hours.off_reason")}>
                  {(id) => (
                    <select id={id} value={e.reason} onChange={(ev) => setException(i, { reason: ev.currentTarget.value })}>
                      {REASONS.map((r) => (
                        <option key={r} value={r}>
                          {t(REASON_KEY[r])}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
              </div>
            ) : (
              <>
                <div class="form-row">
                  <Input label={t("hours.day")} type="date" path={`exceptions.${i}.day`} problems={problems} value={e.day} onValue={(day) => setException(i, { day })} />
                </div>
                <Intervals
                  path={`exceptions.${i}.intervals`}
                  list={e.intervals}
                  setList={(intervals) => setException(i, { intervals })}
                  problems={problems}
                  dayName={e.day || t("hours.extra_n", { n: i + 1 })}
                />
              </>
            )}
            <Problem id={`exception-${i}-problem`} messages={problems.get(`exceptions.${i}`)} />
            <Button kind="ghost" class="btn btn-ghost btn-small" onClick={() => edit({ ...form, exceptions: form.exceptions.filter((_, j) => j !== i) })}>
              {t("hours.remove_exception", { n: i + 1 })}
            </Button>
          </div>
        ))}
        <div class="actions">
          <Button onClick={() => edit({ ...form, exceptions: [...form.exceptions, { kind: "off", first_day: today, last_day: today, reason: "leave" }] })}>
            {t("hours.add_time_off")}
          </Button>
          <Button onClick={() => edit({ ...form, exceptions: [...form.exceptions, { kind: "extra", day: today, intervals: [{ start: "10:00", end: "14:00", overnight: false }] }] })}>
            {t("hours.add_extra")}
          </Button>
        </div>
      </fieldset>
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.busy}>
          {t("hours.save")}
        </button>
        {draft && (
          <Button kind="ghost" onClick={() => (setDraft(null), action.clear())}>
            {t("weights.undo")}
          </Button>
        )}
        {loaded.data && (
          <Button kind="danger" busy={action.busy} onClick={remove}>
            {t(own ? "hours.remove_all" : "hours.remove_all_other")}
          </Button>
        )}
        {saved && (
          <p class="ok-note" role="status">
            {t("common.saved")}
          </p>
        )}
      </div>
    </form>
  );
}

export function MyHours() {
  const { t } = useI18n();
  return (
    <Page title={t("hours.title")} subtitle={t("hours.subtitle")}>
      <div class="stack">
        <Section title={t("presence.title")}>
          <Presence />
        </Section>
        <Section title={t("hours.schedule")}>
          <ScheduleEditor path="/me/schedule" />
        </Section>
      </div>
    </Page>
  );
}

// --- The admin's week ------------------------------------------------------------------------------------------------

const mondayOf = (ms) => {
  const day = new Date(ms);
  const weekday = (day.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - weekday)).toISOString().slice(0, 10);
};
const addDays = (iso, n) => new Date(Date.parse(iso + "T00:00:00Z") + n * DAY_MS).toISOString().slice(0, 10);

// Where a span sits on the week's track, in percent (clipped to the week).
export function place(startIso, endIso, weekStart) {
  const origin = Date.parse(weekStart + "T00:00:00Z");
  const span = 7 * DAY_MS;
  const left = Math.max(0, (Date.parse(startIso) - origin) / span);
  const right = Math.min(1, (Date.parse(endIso) - origin) / span);
  return { left: left * 100, width: Math.max(0, right - left) * 100 };
}

function WeekRow({ row, start, weekdays }) {
  const { t, fmt } = useI18n();
  // No schedule (time_zone null): always on shift, no spans; times are then read in UTC.
  const zone = row.time_zone || "UTC";
  const local = useMemo(() => {
    try {
      return new Intl.DateTimeFormat(fmt.lang, { weekday: "short", hour: "2-digit", minute: "2-digit", timeZone: zone });
    } catch {
      return new Intl.DateTimeFormat(fmt.lang, { weekday: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
    }
  }, [fmt.lang, zone]);
  const end = addDays(start, 7);
  return (
    <li class="week-row">
      <div class="week-who">
        <a href={href(`/operators/${row.operator_id}`)} class="operator-name">
          {row.name}
        </a>
        <PresenceBadge presence={row.presence} />
        {row.presence_reason && <span class="muted small">{row.presence_reason}</span>}
        <span class="muted small">{row.time_zone || t("week.no_hours")}</span>
      </div>
      <div class="week-track" aria-hidden="true">
        {weekdays.map((_, i) => (
          <span key={i} class="week-day-line" style={{ left: `${(i / 7) * 100}%` }} />
        ))}
        {row.time_off.map((off) => {
          const at = place(off.first_day + "T00:00:00Z", addDays(off.last_day, 1) + "T00:00:00Z", start);
          return at.width > 0 ? <span key={off.first_day} class="week-off" style={{ left: `${at.left}%`, width: `${at.width}%` }} /> : null;
        })}
        {row.shifts.map((shift) => {
          const at = place(shift.start, shift.end, start);
          return at.width > 0 ? <span key={shift.start} class="week-shift" style={{ left: `${at.left}%`, width: `${at.width}%` }} /> : null;
        })}
      </div>
      <details class="week-text">
        <summary>{t.n("week.shift_count", row.shifts.length)}</summary>
        <ul>
          {row.shifts.map((shift) => (
            <li key={shift.start}>
              {local.format(new Date(shift.start))} – {local.format(new Date(shift.end))}
            </li>
          ))}
          {row.time_off
            .filter((off) => off.last_day >= start && off.first_day < end)
            .map((off) => (
              <li key={`off-${off.first_day}`}>
                {t("week.time_off", { first: off.first_day, last: off.last_day, reason: t(REASON_KEY[off.reason] || "hours.off_misc") })}
              </li>
            ))}
        </ul>
      </details>
    </li>
  );
}

export function TeamWeek() {
  const { api } = useApp();
  const { t } = useI18n();
  const weekdays = useWeekdays("short");
  const [start, setStart] = useState(() => mondayOf(Date.now()));
  const week = useLoad(() => api.get(`/schedules/week?start=${start}`), [start]);
  const data = week.data;
  const dayLabels = weekdays.map((name, i) => [name, addDays(start, i).slice(8)]);
  return (
    <Page
      title={t("week.title")}
      subtitle={t("week.subtitle")}
      actions={
        <div class="actions">
          <Button onClick={() => setStart(addDays(start, -7))}>{t("week.previous")}</Button>
          <Button onClick={() => setStart(mondayOf(Date.now()))}>{t("week.this")}</Button>
          <Button onClick={() => setStart(addDays(start, 7))}>{t("week.next")}</Button>
        </div>
      }
    >
      <Section title={t("week.range", { first: start, last: addDays(start, 6) })}>
        {week.error && <ErrorMessage error={week.error} />}
        {!data ? (
          !week.error && <Loading />
        ) : data.operators.length ? (
          <>
            <div class="week-legend">
              <span>
                <span class="swatch week-shift-swatch" aria-hidden="true" /> {t("week.legend_shift")}
              </span>
              <span>
                <span class="swatch week-off-swatch" aria-hidden="true" /> {t("week.legend_off")}
              </span>
              <span class="muted">{t("week.utc_note")}</span>
            </div>
            <div class="week-grid">
              <div class="week-head" aria-hidden="true">
                <span class="week-who" />
                <div class="week-days">
                  {dayLabels.map(([name, day]) => (
                    <span key={day}>
                      <span>{name}</span>
                      <span>{day}</span>
                    </span>
                  ))}
                </div>
              </div>
              <ul class="week-rows">
                {data.operators.map((row) => (
                  <WeekRow key={row.operator_id} row={row} start={data.start || start} weekdays={weekdays} />
                ))}
              </ul>
            </div>
          </>
        ) : (
          <Empty>{t("week.nobody")}</Empty>
        )}
      </Section>
    </Page>
  );
}
