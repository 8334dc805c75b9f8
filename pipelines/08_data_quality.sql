-- id: ind08_data_quality
-- title.en: Data quality: completeness, timeliness, controls and their resolution, expectations, by agency
-- title.ru: Качество данных: полнота, своевременность, контроли и их урегулирование, ожидания, по ведомствам
-- title.ky: Маалыматтардын сапаты: толуктук, өз убагында тапшыруу, текшерүүлөр жана аларды чечүү, күтүүлөр, мекемелер боюнча
-- unit.en: returns; percent; items of the controls; expectations
-- unit.ru: отчётов; процент; пунктов контроля; ожиданий
-- unit.ky: отчёттор; пайыз; текшерүү пункттары; күтүүлөр
-- sources: completeness, controls (control_items) and expectation suites (quality_runs) of the year
-- notes.en: Controls failed counts each failed consolidation control (reconciliation, hierarchy, outlier) and each rule warning on a return once per agency concerned; an item is explained (by the agency), decided (closed by an NSC decision on its current values) or open: the same definition the publication gate uses (view control_items). Expectations are those of the latest quality run on the tables built from the agency's forms. Counts of returns and items, not of people: no disclosure control applies.
-- notes.ru: Непройденные контроли: каждый непройденный контроль консолидации (сверка, иерархия, выброс) и каждое предупреждение правила в отчёте, один раз на каждое затронутое ведомство; пункт пояснён (ведомством), решён (закрыт решением НСК по текущим значениям) или открыт — так же, как в контроле публикации (представление control_items). Ожидания — последнего запуска проверки качества для таблиц из форм ведомства.
-- notes.ky: Аткарылбаган текшерүүлөр: ар бир аткарылбаган консолидация текшерүүсү (салыштыруу, иерархия, адаттан тыш маани) жана отчёттогу ар бир эреже эскертүүсү, тиешелүү ар бир мекеме үчүн бир жолу; пункт түшүндүрүлгөн (мекеме тарабынан), чечилген (УСКнын учурдагы маанилер боюнча чечими менен жабылган) же ачык — жарыялоо текшерүүсүндөгүдөй эле (control_items көрүнүшү). Күтүүлөр — мекеменин формаларынан курулган таблицалар боюнча акыркы сапат текшерүүсүнүкү.
-- rates: completeness_pct = accepted / expected * 100; timeliness_pct = on_time / expected * 100
-- col.expected: {en: "Returns expected", ru: "Ожидалось отчётов", ky: "Күтүлгөн отчеттор"}
-- col.received: {en: "Received", ru: "Получено", ky: "Алынган"}
-- col.accepted: {en: "Accepted", ru: "Принято", ky: "Кабыл алынган"}
-- col.on_time: {en: "Accepted on time", ru: "Принято в срок", ky: "Өз убагында кабыл алынган"}
-- col.missing: {en: "Missing", ru: "Отсутствует", ky: "Жок"}
-- col.completeness_pct: {en: "Completeness, %", ru: "Полнота, %", ky: "Толуктук, %"}
-- col.timeliness_pct: {en: "Timeliness, %", ru: "Своевременность, %", ky: "Өз убагында тапшыруу, %"}
-- col.controls_failed: {en: "Controls failed (items)", ru: "Непройденные контроли (пункты)", ky: "Аткарылбаган текшерүүлөр (пункттар)"}
-- col.explained: {en: "Explained by the agency", ru: "Пояснено ведомством", ky: "Мекеме түшүндүргөн"}
-- col.decided: {en: "Decided by the NSC", ru: "Решено НСК", ky: "УСК чечкен"}
-- col.open_discrepancies: {en: "Open items (neither explained nor decided)", ru: "Открытые пункты (не пояснены и не решены)", ky: "Ачык пункттар (түшүндүрүлгөн да, чечилген да эмес)"}
-- col.expectations: {en: "Quality expectations checked", ru: "Проверено ожиданий качества", ky: "Текшерилген сапат күтүүлөрү"}
-- col.expectations_failed: {en: "Quality expectations failed", ru: "Не выполнено ожиданий качества", ky: "Аткарылбаган сапат күтүүлөрү"}
WITH c AS (
    SELECT agency, count(*) AS expected,
           count(*) FILTER (WHERE state <> 'missing') AS received,
           count(*) FILTER (WHERE state LIKE 'accepted%') AS accepted,
           count(*) FILTER (WHERE state LIKE 'accepted%' AND NOT late) AS on_time,
           count(*) FILTER (WHERE state = 'missing') AS missing
    FROM completeness_results WHERE year = getvariable('year') GROUP BY agency
),
items AS (
    SELECT unnest(string_split(i.agencies, ',')) AS agency, i.state, i.decision
    FROM control_items i
    WHERE i.year = getvariable('year') AND i.source IN ('control', 'finding')
),
d AS (
    SELECT agency, count(*) AS controls_failed,
           count(*) FILTER (WHERE state = 'explained') AS explained,
           count(*) FILTER (WHERE state = 'decided') AS decided,
           count(*) FILTER (WHERE state = 'open') AS open_discrepancies
    FROM items GROUP BY agency
),
q AS (
    SELECT unnest(string_split(r.agencies, ',')) AS agency, r.success
    FROM quality_runs r
    WHERE r.year = getvariable('year')
      AND r.run_id = (SELECT max(run_id) FROM quality_runs WHERE year = getvariable('year'))
),
qa AS (
    SELECT agency, count(*) AS expectations, count(*) FILTER (WHERE NOT success) AS expectations_failed
    FROM q GROUP BY agency
)
SELECT getvariable('year') AS year, '41700000000000' AS territory, 'KG' AS area, c.agency,
       c.expected, c.received, c.accepted, c.on_time, c.missing,
       round(100.0 * c.accepted / c.expected, 1) AS completeness_pct,
       round(100.0 * c.on_time / c.expected, 1) AS timeliness_pct,
       COALESCE(d.controls_failed, 0) AS controls_failed,
       COALESCE(d.explained, 0) AS explained,
       COALESCE(d.decided, 0) AS decided,
       COALESCE(d.open_discrepancies, 0) AS open_discrepancies,
       COALESCE(qa.expectations, 0) AS expectations,
       COALESCE(qa.expectations_failed, 0) AS expectations_failed
FROM c LEFT JOIN d USING (agency) LEFT JOIN qa USING (agency)
ORDER BY c.agency
