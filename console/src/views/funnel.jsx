// The funnel board (leads by stage) and the deals pipeline (new → kyc → agreement → paid).
import { useState } from "preact/hooks";
import { useAction, useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { href, navigate } from "../router.js";
import { Badge, Button, Empty, ErrorMessage, Field, Loading, Page } from "../ui.jsx";

const LEAD_COLUMNS = ["new", "contacted", "qualified", "transferred", "lost"];
const NEXT = { new: "contacted", contacted: "qualified" };
export const DEAL_STAGES = ["new", "kyc", "agreement", "paid"];

function LeadTile({ lead, onMoved }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const action = useAction();
  const next = NEXT[lead.stage];
  const who = lead.name || lead.external_id;
  const move = () =>
    action.run(async () => {
      await api.post(`/leads/${lead.id}/stage`, { stage: next });
      announce(t("lead.moved_who", { who, stage: t(`stage.${next}`) }));
      onMoved();
    });
  return (
    <li class="tile">
      <a class="tile-title" href={href(`/leads/${lead.id}`)}>
        {who}
      </a>
      {lead.name && <p class="muted">{lead.external_id}</p>}
      <div class="meta">
        {lead.ai_score !== null && <Badge tone={lead.ai_score >= 0.6 ? "success" : "neutral"}>{t("funnel.score", { score: fmt.percent(lead.ai_score) })}</Badge>}
        {lead.business_domain && <Badge tone="info">{lead.business_domain}</Badge>}
      </div>
      {next && (
        <Button kind="ghost" busy={action.busy} class="btn btn-ghost btn-small" onClick={move} aria-label={t("funnel.move_who", { who, stage: t(`stage.${next}`) })}>
          {t("funnel.move", { stage: t(`stage.${next}`) })}
        </Button>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </li>
  );
}

function LeadColumn({ stage, version, onMoved }) {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const leads = useLoad(() => api.get(`/leads?stage=${stage}&limit=50`), [stage, version]);
  const items = (leads.data && leads.data.items) || [];
  return (
    <section class="column" aria-labelledby={`col-${stage}`}>
      <h2 id={`col-${stage}`} class="column-head">
        {t(`stage.${stage}`)} <span class="count">{fmt.number(items.length)}{leads.data && leads.data.next ? "+" : ""}</span>
      </h2>
      <ErrorMessage error={leads.error} />
      {!leads.data ? (
        !leads.error && <Loading />
      ) : items.length ? (
        <ul class="tiles">
          {items.map((lead) => (
            <LeadTile key={lead.id} lead={lead} onMoved={onMoved} />
          ))}
        </ul>
      ) : (
        <Empty>{t("funnel.empty")}</Empty>
      )}
    </section>
  );
}

function FindLead() {
  const { api } = useApp();
  const { t } = useI18n();
  const [value, setValue] = useState("");
  const [missing, setMissing] = useState(false);
  const action = useAction();
  const find = (event) => {
    event.preventDefault();
    setMissing(false);
    action.run(async () => {
      const found = await api.get(`/leads?external_id=${encodeURIComponent(value.trim())}&limit=1`);
      if (found.items.length) navigate(`/leads/${found.items[0].id}`);
      else setMissing(true);
    });
  };
  return (
    <form class="inline-form find-form" role="search" onSubmit={find}>
      <Field label={t("funnel.find")} hint={t("funnel.find_hint")}>
        {(id, hint) => <input id={id} value={value} required aria-describedby={hint} onInput={(e) => setValue(e.currentTarget.value)} />}
      </Field>
      <button type="submit" class="btn btn-secondary" disabled={action.busy}>
        {t("funnel.find_button")}
      </button>
      {missing && (
        <p class="field-error" role="status">
          {t("funnel.not_found")}
        </p>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </form>
  );
}

export function Funnel() {
  const { t } = useI18n();
  const [version, setVersion] = useState(0);
  return (
    <Page title={t("funnel.title")} subtitle={t("funnel.subtitle")} actions={<Button onClick={() => setVersion(version + 1)}>{t("common.refresh")}</Button>}>
      <FindLead />
      <div class="board">
        {LEAD_COLUMNS.map((stage) => (
          <LeadColumn key={stage} stage={stage} version={version} onMoved={() => setVersion(version + 1)} />
        ))}
      </div>
    </Page>
  );
}

function DealTile({ deal, onMoved }) {
  const { api, announce } = useApp();
  const { t, fmt } = useI18n();
  const action = useAction();
  const next = DEAL_STAGES[DEAL_STAGES.indexOf(deal.stage) + 1];
  const move = () =>
    action.run(async () => {
      onMoved(await api.post(`/deals/${deal.id}/stage`, { stage: next }));
      announce(t("deals.moved_note", { deal: deal.id, stage: t(`deal.${next}`) }));
    });
  return (
    <li class="tile">
      <a class="tile-title" href={href(`/leads/${deal.lead_id}`)}>
        {deal.business_domain || deal.id}
      </a>
      <p class="muted">
        <code>{deal.id}</code>
      </p>
      <div class="meta">
        {deal.ai_score_at_transfer !== null && <Badge tone="info">{t("funnel.score", { score: fmt.percent(deal.ai_score_at_transfer) })}</Badge>}
        <span class="muted">{fmt.dateTime(deal.updated_at)}</span>
      </div>
      {next && (
        <Button kind="ghost" busy={action.busy} onClick={move} aria-label={t("deals.move_which", { deal: deal.id, stage: t(`deal.${next}`) })}>
          {t("funnel.move", { stage: t(`deal.${next}`) })}
        </Button>
      )}
      <ErrorMessage error={action.error} onDismiss={action.clear} />
    </li>
  );
}

export function Deals() {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const deals = useLoad(() => api.all("/deals", 200, 1000), []);
  const replace = (updated) => deals.setData(deals.data.map((d) => (d.id === updated.id ? updated : d)));
  return (
    <Page title={t("deals.title")} subtitle={t("deals.subtitle")} actions={<Button onClick={deals.reload}>{t("common.refresh")}</Button>}>
      <ErrorMessage error={deals.error} />
      {!deals.data ? (
        !deals.error && <Loading />
      ) : (
        <div class="board board-4">
          {DEAL_STAGES.map((stage) => {
            const items = deals.data.filter((deal) => deal.stage === stage);
            return (
              <section key={stage} class="column" aria-labelledby={`deal-${stage}`}>
                <h2 id={`deal-${stage}`} class="column-head">
                  {t(`deal.${stage}`)} <span class="count">{fmt.number(items.length)}</span>
                </h2>
                {items.length ? (
                  <ul class="tiles">
                    {items.map((deal) => (
                      <DealTile key={deal.id} deal={deal} onMoved={replace} />
                    ))}
                  </ul>
                ) : (
                  <Empty>{t("deals.empty")}</Empty>
                )}
              </section>
            );
          })}
        </div>
      )}
    </Page>
  );
}
