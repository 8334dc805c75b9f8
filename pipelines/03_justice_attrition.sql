-- id: ind03_justice_attrition
-- title.en: Criminal-justice attrition for GBV and trafficking offences
-- title.ru: Отсев уголовных дел о ГОН и торговле людьми в системе правосудия
-- title.ky: ГЗЗ жана адам сатуу боюнча кылмыш иштеринин сот адилеттигиндеги азаюусу
-- unit.en: cases and persons; ratios; percent
-- unit.ru: дела и лица; коэффициенты; процент
-- unit.ky: иштер жана адамдар; коэффициенттер; пайыз
-- sources: MOI-FV, GPO-CASES, JD-CASES
-- notes.en: Registered: family-violence criminal cases opened by MoI. Counts move between years with the proceedings, so ratios are indicative.
-- notes.ru: Зарегистрировано: уголовные дела о семейном насилии, возбуждённые МВД. Дела переходят между годами, поэтому коэффициенты ориентировочны.
-- notes.ky: Катталган: ИИМ козгогон үй-бүлөлүк зомбулук боюнча кылмыш иштери. Иштер жылдар аралык өтөт, ошондуктан коэффициенттер болжолдуу.
-- counts: moi_cases_opened, moi_to_prosecutor, gpo_received, gpo_to_court, gpo_terminated, gpo_terminated_reconciliation, jd_received, jd_persons_convicted
-- rates: to_court_per_opened = gpo_to_court / moi_cases_opened; convicted_per_to_court = jd_persons_convicted / gpo_to_court; reconciliation_share_pct = gpo_terminated_reconciliation / gpo_terminated * 100
-- elements: MOI-FV:fv_cases, GPO-CASES:gpo_cases, JD-CASES:jd_cases, JD-CASES:jd_persons
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'fv_cases' AND stage = 'OPENED') AS moi_cases_opened,
       sum(value) FILTER (WHERE element = 'fv_cases' AND stage = 'TO_PROSECUTOR') AS moi_to_prosecutor,
       sum(value) FILTER (WHERE element = 'gpo_cases' AND stage = 'RECEIVED') AS gpo_received,
       sum(value) FILTER (WHERE element = 'gpo_cases' AND stage = 'TO_COURT') AS gpo_to_court,
       sum(value) FILTER (WHERE element = 'gpo_cases' AND stage = 'TERMINATED') AS gpo_terminated,
       sum(value) FILTER (WHERE element = 'gpo_cases' AND stage = 'TERM_RECONC') AS gpo_terminated_reconciliation,
       sum(value) FILTER (WHERE element = 'jd_cases' AND stage = 'RECEIVED') AS jd_received,
       sum(value) FILTER (WHERE element = 'jd_persons' AND stage = 'CONVICTED' AND sex = '_T') AS jd_persons_convicted,
       round(gpo_to_court / NULLIF(moi_cases_opened, 0), 2) AS to_court_per_opened,
       round(jd_persons_convicted / NULLIF(gpo_to_court, 0), 2) AS convicted_per_to_court,
       round(100.0 * gpo_terminated_reconciliation / NULLIF(gpo_terminated, 0), 1) AS reconciliation_share_pct
FROM series_facts
WHERE year = getvariable('year') AND form IN ('MOI-FV', 'GPO-CASES', 'JD-CASES')
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
