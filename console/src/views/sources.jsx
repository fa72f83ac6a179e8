// Sources (channel bots): settings, the weights editor with target shares as you type,
// the Telegram webhook, and bot keys (issue with a grace period, revoke).
import { useMemo, useState } from "preact/hooks";
import { apiBase } from "../api.js";
import { useAction, useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { RoutingRules } from "./routing.jsx";
import { Badge, Button, Check, Copy, Empty, ErrorMessage, Field, Loading, Notice, Page, Section, ShareBar } from "../ui.jsx";

const STRATEGIES = ["weighted", "weighted_capacity"];

// The form's values → a create/patch body; blank SLA means "none".
function settingsBody(values) {
  return {
    name: values.name.trim(),
    description: values.description.trim() ? values.description.trim() : null,
    strategy: values.strategy,
    response_sla_seconds: values.sla === "" ? null : Number(values.sla),
    sticky: values.sticky,
    lead_points: Number(values.lead_points || 0),
  };
}

function SourceSettings({ initial, submitLabel, onSubmit, busy }) {
  const { t } = useI18n();
  const [values, setValues] = useState(initial);
  const set = (name) => (event) => setValues({ ...values, [name]: event.currentTarget.value });
  return (
    <form
      class="form-grid"
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit(values);
      }}
    >
      <Field label={t("field.name")}>
        {(id) => <input id={id} value={values.name} required maxLength={200} onInput={set("name")} />}
      </Field>
      <Field label={t("field.description")} hint={t("sources.description_hint")}>
        {(id, hint) => <input id={id} value={values.description} maxLength={1000} aria-describedby={hint} onInput={set("description")} />}
      </Field>
      <Field label={t("field.strategy")} hint={t(`sources.strategy_hint.${values.strategy}`)}>
        {(id, hint) => (
          <select id={id} value={values.strategy} aria-describedby={hint} onChange={set("strategy")}>
            {STRATEGIES.map((s) => (
              <option key={s} value={s}>
                {t(`strategy.${s}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("field.response_sla_seconds")} hint={t("sources.sla_hint")}>
        {(id, hint) => <input id={id} type="number" min={10} max={604800} inputMode="numeric" value={values.sla} aria-describedby={hint} onInput={set("sla")} />}
      </Field>
      <Field label={t("field.lead_points")} hint={t("sources.points_hint")}>
        {(id, hint) => <input id={id} type="number" min={-0.3} max={0.3} step={0.05} value={values.lead_points} aria-describedby={hint} onInput={set("lead_points")} />}
      </Field>
      <Check label={t("field.sticky")} hint={t("sources.sticky_hint")} checked={values.sticky} onChange={(sticky) => setValues({ ...values, sticky })} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

const EMPTY_SOURCE = { name: "", description: "", strategy: "weighted", sla: "", sticky: false, lead_points: "0" };

export function Sources() {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const list = useLoad(() => api.all("/sources"), []);
  const action = useAction();
  const [formKey, setFormKey] = useState(0);
  const create = (values) =>
    action.run(async () => {
      const created = await api.post("/sources", settingsBody(values));
      announce(t("sources.created_note", { name: created.name }));
      list.setData([created, ...(list.data || [])]);
      setFormKey(formKey + 1);
    });
  return (
    <Page title={t("sources.title")} subtitle={t("sources.subtitle")}>
      <Section title={t("sources.new")}>
        <SourceSettings key={formKey} initial={EMPTY_SOURCE} submitLabel={t("sources.create")} onSubmit={create} busy={action.busy} />
        <ErrorMessage error={action.error} onDismiss={action.clear} />
      </Section>
      <Section title={t.n("sources.count", (list.data || []).length)}>
        <ErrorMessage error={list.error} />
        {!list.data ? (
          !list.error && <Loading />
        ) : list.data.length ? (
          <ul class="source-list">
            {list.data.map((source) => (
              <li key={source.id} class="source-row">
                <div>
                  <p class="operator-name">
                    <a href={href(`/sources/${source.id}`)}>{source.name}</a>
                  </p>
                  {source.description && <p class="muted">{source.description}</p>}
                </div>
                <div class="meta">
                  <Badge tone="info">{t(`strategy.${source.strategy}`)}</Badge>
                  <Badge>{t("sources.sla_value", { sla: fmt.seconds(source.response_sla_seconds) })}</Badge>
                  {source.sticky && <Badge tone="info">{t("field.sticky")}</Badge>}
                  {source.telegram_webhook_enabled && <Badge tone="success">{t("sources.telegram_on")}</Badge>}
                </div>
                <a class="btn btn-secondary" href={href(`/sources/${source.id}`)} aria-label={t("sources.open_who", { name: source.name })}>
                  {t("sources.open")}
                </a>
              </li>
            ))}
          </ul>
        ) : (
          <Empty>{t("sources.none")}</Empty>
        )}
      </Section>
    </Page>
  );
}

function WeightsEditor({ source, operators }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const current = useLoad(() => api.get(`/sources/${source.id}/weights`), [source.id]);
  const [draft, setDraft] = useState(null);
  const action = useAction();
  const saved = useMemo(() => new Map(((current.data && current.data.items) || []).map((w) => [w.operator_id, w.weight])), [current.data]);
  if (!current.data || !operators) return current.error ? <ErrorMessage error={current.error} /> : <Loading />;
  const values = draft || new Map(operators.map((o) => [o.id, String(saved.get(o.id) || "")]));
  const numbers = new Map([...values].map(([id, text]) => [id, Math.max(0, Math.min(100, Math.floor(Number(text) || 0)))]));
  const total = [...numbers.values()].reduce((a, b) => a + b, 0);
  const changed = operators.some((o) => (numbers.get(o.id) || 0) !== (saved.get(o.id) || 0));
  const save = (event) => {
    event.preventDefault();
    action.run(async () => {
      const body = operators.filter((o) => numbers.get(o.id) > 0).map((o) => ({ operator_id: o.id, weight: numbers.get(o.id) }));
      current.setData(await api.put(`/sources/${source.id}/weights`, body));
      setDraft(null);
      announce(t("weights.saved_note"));
    });
  };
  return (
    <form onSubmit={save}>
      <p class="hint">{t("weights.hint")}</p>
      <table class="table weights">
        <thead>
          <tr>
            <th scope="col">{t("weights.operator")}</th>
            <th scope="col">{t("weights.weight")}</th>
            <th scope="col">{t("weights.share")}</th>
          </tr>
        </thead>
        <tbody>
          {operators.map((o) => {
            const share = total ? (numbers.get(o.id) || 0) / total : 0;
            return (
              <tr key={o.id}>
                <th scope="row">
                  {o.name} {!o.is_active && <Badge>{t("operators.paused")}</Badge>}
                </th>
                <td>
                  <input
                    type="number"
                    class="weight-input"
                    min={0}
                    max={100}
                    inputMode="numeric"
                    aria-label={t("weights.weight_of", { name: o.name })}
                    value={values.get(o.id)}
                    placeholder="0"
                    onInput={(e) => setDraft(new Map(values).set(o.id, e.currentTarget.value))}
                  />
                </td>
                <td>
                  <ShareBar share={share} label={t("weights.share_of", { name: o.name })} />
                </td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">{t("weights.total")}</th>
            <td>{fmt.number(total)}</td>
            <td>{total ? fmt.percent(1) : t("weights.nobody")}</td>
          </tr>
        </tfoot>
      </table>
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.busy || !changed}>
          {t("weights.save")}
        </button>
        {changed && (
          <Button kind="ghost" onClick={() => setDraft(null)}>
            {t("weights.undo")}
          </Button>
        )}
      </div>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </form>
  );
}

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function TelegramWebhook({ source, onSaved }) {
  const { api, config } = useApp();
  const { t } = useI18n();
  const [secret, setSecret] = useState("");
  const [shown, setShown] = useState(null);
  const action = useAction();
  const url = `${location.origin}${apiBase(config)}/channels/telegram/${source.id}`;
  const save = (event) => {
    event.preventDefault();
    action.run(async () => {
      onSaved(await api.patch(`/sources/${source.id}`, { telegram_secret_token: secret }));
      setShown(secret);
      setSecret("");
    });
  };
  const disable = () =>
    action.run(async () => {
      onSaved(await api.patch(`/sources/${source.id}`, { telegram_secret_token: null }));
      setShown(null);
    });
  const command = shown && `curl "https://api.telegram.org/bot<BOT_TOKEN>/setWebhook" -d "url=${url}" -d "secret_token=${shown}"`;
  return (
    <div class="stack-tight">
      <p>
        <Badge tone={source.telegram_webhook_enabled ? "success" : "neutral"}>{t(source.telegram_webhook_enabled ? "telegram.on" : "telegram.off")}</Badge>
      </p>
      <Field label={t("telegram.url")}>
        {(id) => (
          <div class="copy-row">
            <input id={id} readOnly value={url} />
            <Copy text={url} label={t("telegram.copy_url")} />
          </div>
        )}
      </Field>
      <form class="inline-form" onSubmit={save}>
        <Field label={t("telegram.secret")} hint={t("telegram.secret_hint")}>
          {(id, hint) => (
            <input id={id} value={secret} minLength={16} maxLength={256} pattern="[A-Za-z0-9_-]+" autocomplete="off" aria-describedby={hint} onInput={(e) => setSecret(e.currentTarget.value)} />
          )}
        </Field>
        <Button onClick={() => setSecret(randomSecret())}>{t("telegram.generate")}</Button>
        <button type="submit" class="btn btn-primary" disabled={action.busy || secret.length < 16}>
          {t("telegram.save")}
        </button>
      </form>
      {shown && (
        <Notice tone="success">
          <p>{t("telegram.saved")}</p>
          <pre class="code">{command}</pre>
          <Copy text={command} label={t("telegram.copy_command")} />
        </Notice>
      )}
      {source.telegram_webhook_enabled && (
        <div>
          <Button kind="danger" busy={action.busy} onClick={disable}>
            {t("telegram.disable")}
          </Button>
        </div>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

const GRACE = [0, 3600, 86400, 604800];

function BotKeys({ source }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const keys = useLoad(() => api.get(`/sources/${source.id}/keys`), [source.id]);
  const [grace, setGrace] = useState("86400");
  const [issued, setIssued] = useState(null);
  const action = useAction();
  const issue = () =>
    action.run(async () => {
      const key = await api.post(`/sources/${source.id}/keys`, { previous_keys_valid_for_seconds: Number(grace) });
      setIssued(key.api_key);
      announce(t("keys.issued_note"));
      keys.reload();
    });
  const revoke = (keyId) =>
    action.run(async () => {
      await api.del(`/sources/${source.id}/keys/${keyId}`);
      announce(t("keys.revoked_note", { key: keyId }));
      keys.reload();
    });
  const list = (keys.data && keys.data.keys) || [];
  return (
    <div class="stack-tight">
      <ErrorMessage error={keys.error} />
      {list.length ? (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">{t("keys.id")}</th>
              <th scope="col">{t("keys.created")}</th>
              <th scope="col">{t("keys.expires")}</th>
              <th scope="col">
                <span class="sr-only">{t("keys.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((key) => (
              <tr key={key.key_id}>
                <th scope="row">
                  <code>{key.key_id}</code>
                </th>
                <td>{fmt.dateTime(key.created_at)}</td>
                <td>{key.expires_at ? fmt.dateTime(key.expires_at) : t("keys.never")}</td>
                <td>
                  <Button kind="danger" busy={action.busy} onClick={() => revoke(key.key_id)} aria-label={t("keys.revoke_which", { key: key.key_id })}>
                    {t("keys.revoke")}
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        keys.data && <Empty>{t("keys.none")}</Empty>
      )}
      <div class="inline-form">
        <Field label={t("keys.grace")}>
          {(id) => (
            <select id={id} value={grace} onChange={(e) => setGrace(e.currentTarget.value)}>
              {GRACE.map((seconds) => (
                <option key={seconds} value={String(seconds)}>
                  {seconds ? fmt.seconds(seconds) : t("keys.grace_none")}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Button kind="primary" busy={action.busy} onClick={issue}>
          {t("keys.issue")}
        </Button>
      </div>
      {issued && (
        <Notice tone="success">
          <p>{t("keys.shown_once")}</p>
          <div class="copy-row">
            <input readOnly value={issued} aria-label={t("keys.new_key")} />
            <Copy text={issued} label={t("keys.copy")} />
          </div>
        </Notice>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

export function SourceDetail({ sourceId }) {
  const { api } = useApp();
  const { t } = useI18n();
  const source = useLoad(() => api.get(`/sources/${encodeURIComponent(sourceId)}`), [sourceId]);
  const operators = useLoad(() => api.all("/operators"), []);
  const action = useAction();
  const [saved, setSaved] = useState(false);
  if (!source.data) {
    return <Page title={t("sources.title")}>{source.error ? <ErrorMessage error={source.error} /> : <Loading />}</Page>;
  }
  const s = source.data;
  const initial = {
    name: s.name,
    description: s.description || "",
    strategy: s.strategy,
    sla: s.response_sla_seconds === null ? "" : String(s.response_sla_seconds),
    sticky: s.sticky,
    lead_points: String(s.lead_points),
  };
  const update = (values) =>
    action.run(async () => {
      setSaved(false);
      source.setData(await api.patch(`/sources/${s.id}`, settingsBody(values)));
      setSaved(true);
    });
  return (
    <Page
      title={s.name}
      subtitle={s.description}
      actions={
        <a class="btn btn-ghost" href={href("/sources")}>
          {t("sources.back")}
        </a>
      }
    >
      <div class="grid-2">
        <div class="stack">
          <Section title={t("sources.weights")}>
            <ErrorMessage error={operators.error} />
            <WeightsEditor source={s} operators={operators.data} />
          </Section>
          <Section title={t("sources.settings")}>
            <SourceSettings key={s.updated_at} initial={initial} submitLabel={t("common.save")} onSubmit={update} busy={action.busy} />
            {saved && (
              <p class="ok-note" role="status">
                {t("common.saved")}
              </p>
            )}
            <ErrorMessage error={action.error} onDismiss={action.clear} />
          </Section>
        </div>
        <div class="stack">
          <Section title={t("rules.title")}>
            <RoutingRules key={s.id} source={s} onSaved={source.setData} />
          </Section>
          <Section title={t("sources.telegram")}>
            <TelegramWebhook source={s} onSaved={source.setData} />
          </Section>
          <Section title={t("sources.keys")}>
            <p class="hint">{t("keys.hint")}</p>
            <BotKeys source={s} />
          </Section>
        </div>
      </div>
    </Page>
  );
}
