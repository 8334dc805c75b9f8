-- id: ind08_data_quality
-- title.en: Data quality: completeness, timeliness and open reconciliation discrepancies by agency
-- title.ru: Качество данных: полнота, своевременность и неурегулированные расхождения по ведомствам
-- title.ky: Маалыматтардын сапаты: толуктук, өз убагында тапшыруу жана мекемелер боюнча чечилбеген дал келбестиктер
-- unit.en: returns; percent; discrepancies
-- unit.ru: отчётов; процент; расхождений
-- unit.ky: отчеттор; пайыз; дал келбестиктер
-- sources: completeness and reconciliation of the consolidation run
-- notes.en: A discrepancy is open when it failed and no agency explanation is recorded for it. Counts of returns, not of people: no disclosure control applies.
-- notes.ru: Расхождение считается открытым, если оно не устранено и ведомство его не пояснило.
-- notes.ky: Дал келбестик оңдолбосо жана мекеме түшүндүрбөсө ачык деп эсептелет.
-- rates: completeness_pct = accepted / expected * 100; timeliness_pct = on_time / expected * 100
-- col.expected: {en: "Returns expected", ru: "Ожидалось отчётов", ky: "Күтүлгөн отчеттор"}
-- col.received: {en: "Received", ru: "Получено", ky: "Алынган"}
-- col.accepted: {en: "Accepted", ru: "Принято", ky: "Кабыл алынган"}
-- col.on_time: {en: "Accepted on time", ru: "Принято в срок", ky: "Өз убагында кабыл алынган"}
-- col.missing: {en: "Missing", ru: "Отсутствует", ky: "Жок"}
-- col.completeness_pct: {en: "Completeness, %", ru: "Полнота, %", ky: "Толуктук, %"}
-- col.timeliness_pct: {en: "Timeliness, %", ru: "Своевременность, %", ky: "Өз убагында тапшыруу, %"}
-- col.open_discrepancies: {en: "Open discrepancies", ru: "Неурегулированные расхождения", ky: "Чечилбеген дал келбестиктер"}
WITH c AS (
    SELECT agency, count(*) AS expected,
           count(*) FILTER (WHERE state <> 'missing') AS received,
           count(*) FILTER (WHERE state LIKE 'accepted%') AS accepted,
           count(*) FILTER (WHERE state LIKE 'accepted%' AND NOT late) AS on_time,
           count(*) FILTER (WHERE state = 'missing') AS missing
    FROM completeness_results WHERE year = getvariable('year') GROUP BY agency
),
d AS (
    SELECT a.agency, count(*) AS open_discrepancies
    FROM rule_results r JOIN rule_agencies a USING (rule_id)
    WHERE r.year = getvariable('year') AND r.status = 'fail'
      AND r.run_id = (SELECT max(run_id) FROM rule_results WHERE year = getvariable('year'))
      AND NOT EXISTS (
          SELECT 1 FROM explanations e JOIN submissions s USING (submission_id)
          WHERE e.rule_id = r.rule_id AND s.year = getvariable('year')
            AND r.scope_id LIKE (SELECT t.oblast FROM dim_territory t WHERE t.soate = s.unit) || '|%')
    GROUP BY a.agency
)
SELECT getvariable('year') AS year, '41700000000000' AS territory, 'KG' AS area, c.agency,
       c.expected, c.received, c.accepted, c.on_time, c.missing,
       round(100.0 * c.accepted / c.expected, 1) AS completeness_pct,
       round(100.0 * c.on_time / c.expected, 1) AS timeliness_pct,
       COALESCE(d.open_discrepancies, 0) AS open_discrepancies
FROM c LEFT JOIN d USING (agency)
ORDER BY c.agency
