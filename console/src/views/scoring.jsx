// Scoring: which scorer answers, the model in use with its holdout metrics, train and rescore now.
import { useApp, useLoad } from "../hooks.js";
import { useI18n } from "../i18n.js";
import { Badge, Button, ErrorMessage, Loading, Page, Section } from "../ui.jsx";
import { ReportTable, useJobRunner } from "./jobs.jsx";

export function Scoring() {
  const { api } = useApp();
  const { t, fmt } = useI18n();
  const status = useLoad(() => api.get("/scoring/model"), []);
  const runner = useJobRunner();
  const run = async (name) => {
    await runner.run(name);
    status.reload();
  };
  const s = status.data;
  const model = s && s.model;
  return (
    <Page title={t("scoring.title")} subtitle={t("scoring.subtitle")}>
      <ErrorMessage error={status.error} />
      {!s ? (
        !status.error && <Loading />
      ) : (
        <div class="cards cards-2">
          <Section title={t("scoring.now")}>
            <div class="kpis">
              <div class="kpi">
                <span class="kpi-value kpi-text">{s.answering}</span>
                <span class="kpi-label">{t("scoring.answering")}</span>
              </div>
              <div class="kpi">
                <span class="kpi-value kpi-text">{t(`scorer.${s.scorer}`)}</span>
                <span class="kpi-label">{t("scoring.configured")}</span>
              </div>
            </div>
            <p class="hint">{t(`scoring.explain.${s.scorer}`)}</p>
          </Section>
          <Section title={t("scoring.model")}>
            {model ? (
              <>
                <p>
                  <Badge tone="info">{model.model_version}</Badge> {t("scoring.trained", { time: fmt.dateTime(model.trained_at) })}
                </p>
                <div class="kpis">
                  <div class="kpi">
                    <span class="kpi-value">{model.holdout_auc === null ? "—" : fmt.decimal(model.holdout_auc)}</span>
                    <span class="kpi-label">{t("scoring.auc")}</span>
                  </div>
                  <div class="kpi">
                    <span class="kpi-value">{model.holdout_brier === null ? "—" : fmt.decimal(model.holdout_brier)}</span>
                    <span class="kpi-label">{t("scoring.brier")}</span>
                  </div>
                  <div class="kpi">
                    <span class="kpi-value">
                      {fmt.number(model.positives)} / {fmt.number(model.negatives)}
                    </span>
                    <span class="kpi-label">{t("scoring.outcomes")}</span>
                  </div>
                </div>
                <p class="hint">{t("scoring.metrics_hint")}</p>
              </>
            ) : (
              <p>{t("scoring.no_model")}</p>
            )}
          </Section>
          <Section title={t("scoring.actions")}>
            <div class="actions">
              <Button kind="primary" busy={runner.running === "train"} disabled={Boolean(runner.running)} onClick={() => run("train")}>
                {t("scoring.train")}
              </Button>
              <Button busy={runner.running === "rescore"} disabled={Boolean(runner.running)} onClick={() => run("rescore")}>
                {t("scoring.rescore")}
              </Button>
            </div>
            <ErrorMessage error={runner.action.error} onDismiss={runner.action.clear} />
            {["train", "rescore"].map(
              (name) =>
                runner.reports[name] && (
                  <div key={name}>
                    <h3 class="subhead">{t("jobs.last_of", { job: t(`jobs.${name}.name`), time: fmt.dateTime(runner.reports[name].at) })}</h3>
                    <ReportTable report={runner.reports[name].report} />
                  </div>
                ),
            )}
            <p class="hint">{t("scoring.backtest_hint")}</p>
          </Section>
        </div>
      )}
    </Page>
  );
}
