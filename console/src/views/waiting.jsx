// Waiting lines and escalations, per source, with assign-to-operator.
import { useState } from "preact/hooks";
import { useAction, useApp, useLoad, useNow, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { Badge, Button, Empty, ErrorMessage, Field, Loading, Page, Section } from "../ui.jsx";
import { AppealActions } from "./inbox.jsx";

export function AssignForm({ appeal, operators, onAssigned }) {
  const { api, announce } = useApp();
  const { t } = useI18n();
  const own = useLoad(async () => operators || (await api.all("/operators")), [operators]);
  const [choice, setChoice] = useState("");
  const action = useAction();
  const free = (own.data || []).filter((o) => o.is_active && o.current_load < o.max_load);
  const assign = (event) => {
    event.preventDefault();
    if (!choice) return;
    action.run(async () => {
      const updated = await api.post(`/appeals/${appeal.id}/assign`, { operator_id: choice });
      announce(t("waiting.assigned_note", { who: appeal.lead_external_id, operator: updated.operator.name }));
      onAssigned(updated);
    });
  };
  return (
    <form class="inline-form" onSubmit={assign}>
      <Field label={t("waiting.assign_to")}>
        {(id) => (
          <select id={id} value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
            <option value="">{free.length ? t("waiting.choose") : t("waiting.nobody_free")}</option>
            {free.map((o) => (
              <option key={o.id} value={o.id}>
                {t("waiting.option", { name: o.name, load: o.current_load, max: o.max_load })}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" class="btn btn-primary" disabled={action.busy || !choice} aria-label={t("waiting.assign_who", { who: appeal.lead_external_id })}>
        {t("waiting.assign")}
      </button>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </form>
  );
}

function Line({ title, path, operators, onChange, empty }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const now = useNow(15000);
  const line = usePoll(api, path, 5000);
  const refresh = () => (line.refresh(), onChange());
  const items = (line.data && line.data.items) || [];
  return (
    <div class="line">
      <h3 class="subhead">
        {title} <Badge tone={items.length ? "warning" : "neutral"}>{fmt.number(items.length)}{line.data && line.data.next ? "+" : ""}</Badge>
      </h3>
      <ErrorMessage error={line.error} />
      {line.loading && !line.data ? (
        <Loading />
      ) : items.length ? (
        <ol class="appeal-list">
          {items.map((appeal) => (
            <li key={appeal.id} class="appeal-card">
              <div class="appeal-card-head">
                <h4>
                  <a href={href(`/appeals/${appeal.id}`)}>{appeal.lead_external_id}</a>
                </h4>
                <time datetime={appeal.created_at} title={fmt.dateTime(appeal.created_at)}>
                  {t("waiting.since", { ago: fmt.ago(appeal.created_at, now) })}
                </time>
              </div>
              <p class="message">{appeal.message}</p>
              <div class="meta">
                {appeal.escalated && <Badge tone="danger">{t("appeal.escalated")}</Badge>}
                {appeal.reassign_count > 0 && <Badge>{t.n("waiting.lapsed", appeal.reassign_count)}</Badge>}
              </div>
              <AssignForm appeal={appeal} operators={operators} onAssigned={refresh} />
              <AppealActions appeal={appeal} onChanged={refresh} compact />
            </li>
          ))}
        </ol>
      ) : (
        <Empty>{empty}</Empty>
      )}
    </div>
  );
}

export function Waiting() {
  const { api } = useApp();
  const { t } = useI18n();
  const sources = useLoad(() => api.all("/sources"), []);
  const operators = useLoad(() => api.all("/operators"), []);
  return (
    <Page title={t("waiting.title")} subtitle={t("waiting.subtitle")}>
      <ErrorMessage error={sources.error || operators.error} />
      {!sources.data ? (
        !sources.error && <Loading />
      ) : sources.data.length ? (
        sources.data.map((source) => (
          <Section key={source.id} title={source.name}>
            <div class="grid-2">
              <Line
                title={t("waiting.queue")}
                path={`/sources/${source.id}/waiting?limit=50`}
                operators={operators.data}
                onChange={operators.reload}
                empty={t("waiting.empty")}
              />
              <Line
                title={t("waiting.escalated")}
                path={`/sources/${source.id}/waiting?limit=50&escalated=true`}
                operators={operators.data}
                onChange={operators.reload}
                empty={t("waiting.none_escalated")}
              />
            </div>
          </Section>
        ))
      ) : (
        <Empty>{t("sources.none")}</Empty>
      )}
    </Page>
  );
}
