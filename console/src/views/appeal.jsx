// One appeal: what the lead wrote, Accept / Close, the lead card, why it went where it
// went, and everything that happened to it.
import { useApp, useLoad, useNow, usePoll } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { decisionInWords, namer } from "../decision.js";
import { Badge, ErrorMessage, Loading, Page, Section } from "../ui.jsx";
import { AppealActions, SlaCountdown } from "./inbox.jsx";
import { AssignForm } from "./waiting.jsx";
import { LeadCard, LeadTimelineEvents } from "./lead.jsx";
import { Timeline, useDirectory } from "./common.jsx";
import { Conversation } from "./conversation.jsx";
import { AppealNotes } from "./routing.jsx";

export function Decision({ decision, nameOf }) {
  const { me } = useApp();
  const { t, fmt } = useI18n();
  const self = me.operator && me.role !== "admin" ? me.operator.id : null;
  const words = decisionInWords(decision, nameOf, t, fmt, self);
  return (
    <div class="decision">
      <p class="decision-headline">{words.headline}</p>
      <ul class="decision-details">
        {words.details.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    </div>
  );
}

function appealEventText(event, nameOf, t) {
  const vars = {
    operator: event.operator_id ? nameOf(event.operator_id) : "",
    previous: event.previous_operator_id ? nameOf(event.previous_operator_id) : "",
  };
  const text = t(`event.${event.type}`, vars);
  if (!event.reason) return text;
  return `${text} (${t.has(`reason.${event.reason}`) ? t(`reason.${event.reason}`) : event.reason})`;
}

export function AppealPage({ appealId }) {
  const { api, me } = useApp();
  const { t, fmt } = useI18n();
  const now = useNow(1000);
  const appeal = usePoll(api, `/appeals/${encodeURIComponent(appealId)}`, 5000);
  const history = useLoad(() => api.get(`/appeals/${encodeURIComponent(appealId)}/history`), [appealId, appeal.data && appeal.data.status, appeal.data && (appeal.data.operator || {}).id, appeal.data && appeal.data.accepted_at]);
  const leadId = appeal.data && appeal.data.lead_id;
  const lead = useLoad(async () => (leadId ? api.get(`/leads/${leadId}`) : null), [leadId]);
  const leadEvents = useLoad(
    async () => (leadId && me.role === "admin" ? (await api.get(`/leads/${leadId}/history`)).events : []),
    [leadId, lead.data && lead.data.updated_at],
  );
  const directory = useDirectory();
  const nameOf = namer(directory.operators, me, t);

  if (!appeal.data) {
    return (
      <Page title={t("appeal.title")}>
        {appeal.error ? <ErrorMessage error={appeal.error} /> : <Loading />}
      </Page>
    );
  }
  const a = appeal.data;
  const source = directory.sources.get(a.source_id);
  const entries = [];
  for (const event of (history.data && history.data.events) || []) {
    entries.push({
      at: event.at,
      kind: event.type,
      text: appealEventText(event, nameOf, t),
      children: event.decision ? <Decision decision={event.decision} nameOf={nameOf} /> : null,
    });
  }
  for (const entry of LeadTimelineEvents(leadEvents.data || [], t, fmt)) entries.push(entry);
  entries.sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
  const placements = ((history.data && history.data.events) || []).filter((event) => event.decision);
  const latest = placements[placements.length - 1];

  return (
    <Page
      title={t("appeal.from", { who: a.lead_external_id })}
      subtitle={t("appeal.received", { time: fmt.dateTime(a.created_at) })}
      actions={
        me.operator ? (
          <a class="btn btn-ghost" href={href("/inbox")}>
            {t("appeal.back")}
          </a>
        ) : null
      }
    >
      {appeal.error && <ErrorMessage error={appeal.error} />}
      <div class="grid-2">
        <div class="stack">
          <Section title={t("conversation.title")}>
            <Conversation appeal={a} onReplied={() => (appeal.refresh(), history.reload())} />
          </Section>
          <Section title={t("appeal.section_facts")}>
            <dl class="facts">
              <dt>{t("appeal.status")}</dt>
              <dd>
                <Badge tone={a.status === "active" ? "success" : a.status === "waiting" ? "warning" : "neutral"}>{t(`appeal.state.${a.status}`)}</Badge>{" "}
                {a.escalated && <Badge tone="danger">{t("appeal.escalated")}</Badge>} <SlaCountdown appeal={a} now={now} />
              </dd>
              <dt>{t("appeal.operator")}</dt>
              <dd>{a.operator ? a.operator.name : t("appeal.nobody")}</dd>
              {source && (
                <>
                  <dt>{t("appeal.source")}</dt>
                  <dd>
                    <a href={href(`/sources/${a.source_id}`)}>{source}</a>
                  </dd>
                </>
              )}
              <dt>{t("appeal.messages_label")}</dt>
              <dd>{fmt.number(a.message_count)}</dd>
              {a.accepted_at && (
                <>
                  <dt>{t("appeal.accepted_label")}</dt>
                  <dd>{fmt.dateTime(a.accepted_at)}</dd>
                </>
              )}
              {a.closed_at && (
                <>
                  <dt>{t("appeal.closed_label")}</dt>
                  <dd>{fmt.dateTime(a.closed_at)}</dd>
                </>
              )}
            </dl>
            <AppealActions appeal={a} onChanged={(updated) => (appeal.refresh(), history.reload(), updated)} />
            {me.role === "admin" && a.status === "waiting" && <AssignForm appeal={a} onAssigned={() => (appeal.refresh(), history.reload())} />}
          </Section>
          <Section title={t("notes.title")}>
            <AppealNotes appeal={a} nameOf={nameOf} />
          </Section>
          <Section title={t("appeal.why")}>
            {latest ? <Decision decision={latest.decision} nameOf={nameOf} /> : <p class="muted">{t("appeal.no_decision")}</p>}
          </Section>
        </div>
        <div class="stack">
          {lead.error && <ErrorMessage error={lead.error} />}
          {lead.data ? (
            <LeadCard lead={lead.data} onChanged={(updated) => lead.setData(updated)} sourceName={(id) => directory.sources.get(id) || id} />
          ) : (
            !lead.error && <Loading />
          )}
        </div>
      </div>
      <Section title={t("appeal.timeline")}>
        {history.error && <ErrorMessage error={history.error} />}
        {entries.length ? <Timeline entries={entries} /> : <Loading />}
      </Section>
    </Page>
  );
}
