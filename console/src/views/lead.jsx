// The lead card (contacts, stage, score with its signed factors, business domain, transfer)
// and the admin's lead page.
import { useState } from "preact/hooks";
import { useAction, useApp, useLoad, useNow } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href } from "../router.js";
import { featureLabel, transferRefusals } from "../decision.js";
import { Badge, Button, Empty, ErrorMessage, Field, Loading, Page, Section, SignedBars } from "../ui.jsx";
import { AppealCard } from "./inbox.jsx";
import { Timeline, useDirectory } from "./common.jsx";

export const STAGES = ["new", "contacted", "qualified", "transferred"];
const FINAL = new Set(["transferred", "lost"]);
// The one step forward a person may take by hand; `transferred` only comes through the transfer.
const NEXT = { new: "contacted", contacted: "qualified" };

export function LeadTimelineEvents(events, t, fmt) {
  return events.map((event) => {
    let text;
    if (event.type === "stage_changed")
      text = t("lead.event.stage", { from: t(`stage.${event.from_stage}`), to: t(`stage.${event.to_stage}`) });
    else if (event.type === "scored")
      text = t("lead.event.scored", {
        score: fmt.percent(event.score),
        recommendation: t(`recommendation.${event.recommendation}`),
        model: event.model_version,
      });
    else text = t("lead.event.transferred", { deal: event.deal_id });
    return { at: event.at, kind: event.type, text };
  });
}

function StageStepper({ stage }) {
  const { t } = useI18n();
  const reached = STAGES.indexOf(stage);
  return (
    <ol class={`stepper${stage === "lost" ? " stepper-lost" : ""}`} aria-label={t("lead.funnel")}>
      {STAGES.map((step, i) => (
        <li key={step} class={i < reached ? "done" : i === reached ? "current" : ""} aria-current={i === reached ? "step" : undefined}>
          {t(`stage.${step}`)}
        </li>
      ))}
      {stage === "lost" && (
        <li class="current lost" aria-current="step">
          {t("stage.lost")}
        </li>
      )}
    </ol>
  );
}

function ScoreBlock({ lead, onChanged, sourceName }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const action = useAction();
  const analyze = () => action.run(async () => onChanged(await api.post(`/leads/${lead.id}/analyze`)));
  const rows = (lead.ai_factors || []).map((factor) => ({
    key: factor.feature,
    label: featureLabel(factor.feature, t, sourceName),
    value: factor.contribution,
  }));
  const tone = lead.ai_score === null ? "neutral" : lead.ai_score >= 0.6 ? "good" : lead.ai_score < 0.25 ? "bad" : "mid";
  return (
    <div class="score">
      <div class="score-head">
        <p class={`score-value score-${tone}`}>
          <span class="sr-only">{t("lead.score")}: </span>
          {lead.ai_score === null ? "—" : fmt.percent(lead.ai_score)}
        </p>
        <div>
          <p class="score-recommendation">
            {lead.ai_recommendation ? t(`recommendation.${lead.ai_recommendation}`) : t("lead.not_scored")}
          </p>
          <p class="muted">
            {lead.model_version && t("lead.model", { model: lead.model_version })}
            {lead.scored_at && ` · ${fmt.dateTime(lead.scored_at)}`}
          </p>
          {lead.score_stale && <Badge tone="warning">{t("lead.stale")}</Badge>}
          {lead.score_fallback_reason && <p class="muted">{t("lead.fallback", { reason: lead.score_fallback_reason })}</p>}
        </div>
      </div>
      {rows.length ? (
        <>
          <h3 class="subhead">{t("lead.factors")}</h3>
          <SignedBars rows={rows} label={t("lead.factors")} />
        </>
      ) : (
        lead.ai_score !== null && <p class="muted">{t("lead.no_factors")}</p>
      )}
      <Button busy={action.busy} onClick={analyze}>
        {t("lead.analyze")}
      </Button>
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

function DomainForm({ lead, onChanged }) {
  const { api } = useApp();
  const { t } = useI18n();
  const [value, setValue] = useState(lead.business_domain || "");
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const save = (event) => {
    event.preventDefault();
    setSaved(false);
    action.run(async () => {
      const body = { business_domain: value.trim() ? value.trim() : null };
      onChanged(await api.patch(`/leads/${lead.id}`, body));
      setSaved(true);
    });
  };
  return (
    <form class="inline-form" onSubmit={save}>
      <Field label={t("field.business_domain")} hint={t("lead.domain_hint")}>
        {(id, hint) => <input id={id} aria-describedby={hint} value={value} maxLength={100} onInput={(e) => setValue(e.currentTarget.value)} />}
      </Field>
      <button type="submit" class="btn btn-secondary" disabled={action.busy}>
        {t("lead.domain_save")}
      </button>
      {saved && (
        <p class="ok-note" role="status">
          {t("common.saved")}
        </p>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </form>
  );
}

function StageActions({ lead, onChanged }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const action = useAction();
  const [refusal, setRefusal] = useState(null);
  const move = (stage) =>
    action.run(async () => {
      setRefusal(null);
      const updated = await api.post(`/leads/${lead.id}/stage`, { stage });
      announce(t("lead.moved_note", { stage: t(`stage.${stage}`) }));
      onChanged(updated);
    });
  const transfer = () =>
    action.run(async () => {
      setRefusal(null);
      try {
        const done = await api.post(`/leads/${lead.id}/transfer`);
        announce(t("lead.transferred_note"));
        onChanged(done.lead);
      } catch (error) {
        if (error.status === 409) setRefusal(transferRefusals(error.message, t, fmt));
        else throw error;
      }
    });
  if (FINAL.has(lead.stage)) {
    return lead.deal_id ? (
      <p>
        {t("lead.deal")} <a href={href("/deals")}>{lead.deal_id}</a>
      </p>
    ) : null;
  }
  const next = NEXT[lead.stage];
  return (
    <div class="stack-tight">
      <div class="actions">
        {next && (
          <Button kind="primary" busy={action.busy} onClick={() => move(next)}>
            {t("lead.move_to", { stage: t(`stage.${next}`) })}
          </Button>
        )}
        <Button kind="secondary" busy={action.busy} onClick={transfer}>
          {t("lead.transfer")}
        </Button>
        <Button kind="danger" busy={action.busy} onClick={() => move("lost")}>
          {t("lead.mark_lost")}
        </Button>
      </div>
      {refusal && (
        <div class="alert alert-error" role="alert">
          <p class="alert-title">{t("lead.transfer_refused")}</p>
          <ul>
            {refusal.map((rule) => (
              <li key={rule}>{rule}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </div>
  );
}

export function LeadCard({ lead, onChanged, sourceName, title }) {
  const { t, fmt } = useI18n();
  return (
    <Section title={title || t("lead.card")} class="lead-card">
      <div class="lead-identity">
        <p class="lead-name">{lead.name || t("lead.unnamed")}</p>
        <p class="muted">
          {lead.external_id}
          {lead.username && ` · @${lead.username}`}
        </p>
      </div>
      <dl class="facts">
        <dt>{t("field.phone")}</dt>
        <dd>{lead.phone ? <a href={`tel:${lead.phone}`}>{lead.phone}</a> : "—"}</dd>
        <dt>{t("field.email")}</dt>
        <dd>{lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : "—"}</dd>
        <dt>{t("field.business_domain")}</dt>
        <dd>{lead.business_domain || "—"}</dd>
        <dt>{t("lead.first_contact")}</dt>
        <dd>{fmt.dateTime(lead.created_at)}</dd>
        <dt>{t("lead.counts")}</dt>
        <dd>
          {t.n("lead.appeals", lead.appeals_count)}, {t.n("appeal.messages", lead.message_count)}
        </dd>
      </dl>
      <h3 class="subhead">{t("lead.stage")}</h3>
      <StageStepper stage={lead.stage} />
      <StageActions lead={lead} onChanged={onChanged} />
      <h3 class="subhead">{t("lead.score")}</h3>
      <ScoreBlock lead={lead} onChanged={onChanged} sourceName={sourceName} />
      {!FINAL.has(lead.stage) && <DomainForm key={lead.business_domain} lead={lead} onChanged={onChanged} />}
    </Section>
  );
}

export function LeadPage({ leadId }) {
  const { api, me } = useApp();
  const { t, fmt } = useI18n();
  const now = useNow(30000);
  const lead = useLoad(() => api.get(`/leads/${encodeURIComponent(leadId)}`), [leadId]);
  const appeals = useLoad(async () => (me.role === "admin" ? (await api.get(`/leads/${encodeURIComponent(leadId)}/appeals?limit=50`)).items : []), [leadId]);
  const history = useLoad(
    async () => (me.role === "admin" ? (await api.get(`/leads/${encodeURIComponent(leadId)}/history`)).events : []),
    [leadId, lead.data && lead.data.updated_at],
  );
  const directory = useDirectory();
  if (!lead.data) {
    return <Page title={t("lead.card")}>{lead.error ? <ErrorMessage error={lead.error} /> : <Loading />}</Page>;
  }
  const entries = LeadTimelineEvents(history.data || [], t, fmt).sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
  return (
    <Page title={lead.data.name || lead.data.external_id} subtitle={t(`stage.${lead.data.stage}`)}>
      <div class="grid-2">
        <LeadCard lead={lead.data} onChanged={lead.setData} sourceName={(id) => directory.sources.get(id) || id} />
        <div class="stack">
          <Section title={t("lead.appeals_title")}>
            <ErrorMessage error={appeals.error} />
            {appeals.data && appeals.data.length ? (
              <ul class="appeal-list">
                {appeals.data.map((appeal) => (
                  <AppealCard key={appeal.id} appeal={appeal} now={now} onChanged={appeals.reload} showOperator />
                ))}
              </ul>
            ) : (
              appeals.data && <Empty>{t("lead.no_appeals")}</Empty>
            )}
          </Section>
          <Section title={t("lead.history")}>
            <ErrorMessage error={history.error} />
            {entries.length ? <Timeline entries={entries} /> : <Empty>{t("lead.no_history")}</Empty>}
          </Section>
        </div>
      </div>
    </Page>
  );
}
