// Routing settings an admin edits: an operator's skills, a source's routing rules
// (required skills, fallback, line order, follow-up after accept, shift end), and an
// appeal's notes. A 422 lands at the field it names.
import { useState } from "preact/hooks";
import { useAction, useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { Button, Check, Empty, ErrorMessage, Field, Loading, TagList, fieldError, parseTags } from "../ui.jsx";

// The error without the lines the form shows at its fields (the alert still says it failed).
function leftOver(error, shown) {
  if (!error || error.status !== 422 || !error.details) return error;
  const rest = error.details.filter((problem) => {
    const path = String(problem.path || "").replace(/^body\./, "");
    return !shown.some((name) => path === name || path.startsWith(`${name}.`));
  });
  return Object.assign(Object.create(Object.getPrototypeOf(error)), error, { message: error.message, details: rest });
}

function SavedNote({ shown }) {
  const { t } = useI18n();
  return shown ? (
    <p class="ok-note" role="status">
      {t("common.saved")}
    </p>
  ) : null;
}

export function OperatorSkills({ operator, onSaved }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [text, setText] = useState((operator.tags || []).join(", "));
  const [saved, setSaved] = useState(false);
  const [sent, setSent] = useState([]);
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    setSaved(false);
    const tags = parseTags(text);
    setSent(tags);
    action.run(async () => {
      const updated = await api.patch(`/operators/${encodeURIComponent(operator.id)}`, { tags });
      setText((updated.tags || []).join(", "));
      setSaved(true);
      onSaved(updated);
    });
  };
  const error = fieldError(action.error, "tags", sent);
  return (
    <form class="stack-tight" onSubmit={submit}>
      <TagList tags={operator.tags} label={t("skills.current")} />
      <div class="inline-form">
        <Field label={t("field.tags")} hint={t("skills.hint")} error={error}>
          {(id, described, invalid) => (
            <input
              id={id}
              value={text}
              autocomplete="off"
              autocapitalize="none"
              spellcheck={false}
              aria-describedby={described}
              aria-invalid={invalid ? "true" : undefined}
              onInput={(e) => (setText(e.currentTarget.value), setSaved(false))}
            />
          )}
        </Field>
        <button type="submit" class="btn btn-primary" disabled={action.busy}>
          {t("skills.save")}
        </button>
      </div>
      <SavedNote shown={saved} />
      <ErrorMessage error={leftOver(action.error, ["tags"])} onDismiss={action.clear} />
    </form>
  );
}

const RULE_FIELDS = [
  "required_tags",
  "fallback_after_seconds",
  "line_order",
  "followup_seconds",
  "followup_action",
  "return_accepted_at_shift_end",
];

function rulesForm(source) {
  const line = source.line_order || {};
  const text = (value) => (value === null || value === undefined ? "" : String(value));
  return {
    required_tags: (source.required_tags || []).join(", "),
    fallback_after_seconds: text(source.fallback_after_seconds),
    mode: line.mode || "fifo",
    max_jump_seconds: text(line.max_jump_seconds ?? 900),
    hot_threshold: text(line.hot_threshold ?? 0.7),
    followup_seconds: text(source.followup_seconds),
    followup_action: source.followup_action || "escalate",
    return_accepted_at_shift_end: Boolean(source.return_accepted_at_shift_end),
  };
}

// Blank numbers are "none" (null) where the API allows it; a typed number goes as typed.
function rulesBody(form) {
  const number = (value) => (value.trim() === "" ? null : Number(value));
  return {
    required_tags: parseTags(form.required_tags),
    fallback_after_seconds: number(form.fallback_after_seconds),
    line_order: {
      mode: form.mode,
      max_jump_seconds: number(form.max_jump_seconds) ?? 900,
      hot_threshold: number(form.hot_threshold) ?? 0.7,
    },
    followup_seconds: number(form.followup_seconds),
    followup_action: form.followup_action,
    return_accepted_at_shift_end: form.return_accepted_at_shift_end,
  };
}

function NumberField({ label, hint, error, value, onValue, ...rest }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, described, invalid) => (
        <input
          id={id}
          type="number"
          inputMode="numeric"
          value={value}
          aria-describedby={described}
          aria-invalid={invalid ? "true" : undefined}
          onInput={(e) => onValue(e.currentTarget.value)}
          {...rest}
        />
      )}
    </Field>
  );
}

export function RoutingRules({ source, onSaved }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [form, setForm] = useState(() => rulesForm(source));
  const [saved, setSaved] = useState(false);
  const [sent, setSent] = useState([]);
  const action = useAction();
  const set = (name) => (value) => (setForm({ ...form, [name]: value }), setSaved(false));
  const submit = (event) => {
    event.preventDefault();
    setSaved(false);
    const body = rulesBody(form);
    setSent(body.required_tags);
    action.run(async () => {
      const updated = await api.patch(`/sources/${encodeURIComponent(source.id)}`, body);
      setForm(rulesForm(updated));
      setSaved(true);
      onSaved(updated);
    });
  };
  const err = (name) => fieldError(action.error, name, name === "required_tags" ? sent : null);
  const select = (name, options, labelKey, hint) => (
    <Field label={t(`field.${name}`)} hint={hint} error={err(name === "mode" ? "line_order.mode" : name)}>
      {(id, described, invalid) => (
        <select id={id} value={form[name]} aria-describedby={described} aria-invalid={invalid ? "true" : undefined} onChange={(e) => set(name)(e.currentTarget.value)}>
          {options.map((option) => (
            <option key={option} value={option}>
              {t(`${labelKey}.${option}`)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
  return (
    <form class="stack-tight" onSubmit={submit}>
      <fieldset class="rules-group">
        <legend>{t("rules.skills")}</legend>
        <div class="form-grid">
          <Field label={t("field.required_tags")} hint={t("rules.required_tags_hint")} error={err("required_tags")}>
            {(id, described, invalid) => (
              <input
                id={id}
                value={form.required_tags}
                autocomplete="off"
                autocapitalize="none"
                spellcheck={false}
                aria-describedby={described}
                aria-invalid={invalid ? "true" : undefined}
                onInput={(e) => set("required_tags")(e.currentTarget.value)}
              />
            )}
          </Field>
          <NumberField
            label={t("field.fallback_after_seconds")}
            hint={t("rules.fallback_hint")}
            error={err("fallback_after_seconds")}
            min={1}
            max={604800}
            value={form.fallback_after_seconds}
            onValue={set("fallback_after_seconds")}
          />
        </div>
      </fieldset>
      <fieldset class="rules-group">
        <legend>{t("rules.line")}</legend>
        <div class="form-grid">
          {select("mode", ["fifo", "priority"], "rules.mode", t(`rules.mode_hint.${form.mode}`))}
          <NumberField
            label={t("field.max_jump_seconds")}
            hint={t("rules.max_jump_hint")}
            error={err("line_order.max_jump_seconds")}
            min={0}
            max={86400}
            required
            value={form.max_jump_seconds}
            onValue={set("max_jump_seconds")}
          />
          <NumberField
            label={t("field.hot_threshold")}
            hint={t("rules.hot_hint")}
            error={err("line_order.hot_threshold")}
            min={0}
            max={1}
            step={0.05}
            inputMode="decimal"
            required
            value={form.hot_threshold}
            onValue={set("hot_threshold")}
          />
        </div>
        {err("line_order") && !err("line_order.mode") && !err("line_order.max_jump_seconds") && !err("line_order.hot_threshold") && (
          <p class="field-error">{err("line_order")}</p>
        )}
      </fieldset>
      <fieldset class="rules-group">
        <legend>{t("rules.followup")}</legend>
        <div class="form-grid">
          <NumberField
            label={t("field.followup_seconds")}
            hint={t("rules.followup_hint")}
            error={err("followup_seconds")}
            min={60}
            max={2592000}
            value={form.followup_seconds}
            onValue={set("followup_seconds")}
          />
          {select("followup_action", ["escalate", "return_to_line"], "rules.action", t(`rules.action_hint.${form.followup_action}`))}
        </div>
        <Check
          label={t("field.return_accepted_at_shift_end")}
          hint={t("rules.shift_end_hint")}
          checked={form.return_accepted_at_shift_end}
          onChange={set("return_accepted_at_shift_end")}
        />
      </fieldset>
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.busy}>
          {t("rules.save")}
        </button>
      </div>
      <SavedNote shown={saved} />
      <ErrorMessage error={leftOver(action.error, RULE_FIELDS)} onDismiss={action.clear} />
    </form>
  );
}

export function AppealNotes({ appeal, nameOf }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const path = `/appeals/${encodeURIComponent(appeal.id)}/notes`;
  const notes = useLoad(() => api.get(`${path}?limit=50`), [appeal.id]);
  const [text, setText] = useState("");
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    action.run(async () => {
      const note = await api.post(path, { text });
      setText("");
      announce(t("notes.added_note"));
      const page = notes.data || { items: [] };
      notes.setData({ ...page, items: [note, ...(page.items || [])] });
    });
  };
  const items = (notes.data && notes.data.items) || [];
  const more = useAction();
  const loadMore = () =>
    more.run(async () => {
      const page = await api.get(`${path}?limit=50&cursor=${encodeURIComponent(notes.data.next)}`);
      notes.setData({ items: [...items, ...page.items], next: page.next });
    });
  // The pattern the server checks is "not blank": say so rather than show a regular expression.
  const blank = ((action.error && action.error.details) || []).some((p) => /text$/.test(String(p.path)) && p.type === "string_pattern_mismatch");
  const error = blank ? t("notes.blank") : fieldError(action.error, "text");
  return (
    <div class="stack-tight">
      <form class="stack-tight" onSubmit={submit}>
        <Field label={t("notes.new")} error={error}>
          {(id, described, invalid) => (
            <textarea
              id={id}
              rows={3}
              maxLength={4000}
              required
              value={text}
              aria-describedby={described}
              aria-invalid={invalid ? "true" : undefined}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          )}
        </Field>
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={action.busy}>
            {t("notes.add")}
          </button>
        </div>
        <ErrorMessage error={leftOver(action.error, ["text"])} onDismiss={action.clear} />
      </form>
      <ErrorMessage error={notes.error} />
      {!notes.data ? (
        !notes.error && <Loading />
      ) : items.length ? (
        <ul class="note-list" aria-label={t("notes.title")}>
          {items.map((note) => (
            <li key={note.id} class="note">
              <p class="note-text">{note.text}</p>
              <p class="muted">
                {t("notes.by", { who: note.author_role === "admin" ? t("role.admin") : nameOf(note.author), time: fmt.dateTime(note.created_at) })}
              </p>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>{t("notes.none")}</Empty>
      )}
      {notes.data && notes.data.next && (
        <Button busy={more.busy} onClick={loadMore}>
          {t("common.more")}
        </Button>
      )}
      <ErrorMessage error={more.error} onDismiss={more.clear} />
    </div>
  );
}
