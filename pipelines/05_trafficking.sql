-- id: ind05_trafficking
-- title.en: Victims of trafficking detected per 100,000 population (SDG 16.2.2), cases, prosecutions, convictions
-- title.ru: Выявленные жертвы торговли людьми на 100 000 населения (ЦУР 16.2.2), дела, преследование, осуждение
-- title.ky: 100 000 калкка аныкталган адам сатуунун курмандыктары (ТӨМ 16.2.2), иштер, куугунтуктоо, соттоо
-- unit.en: persons; per 100,000 population of the same sex and age
-- unit.ru: человек; на 100 000 населения того же пола и возраста
-- unit.ky: адам; ошол эле жыныстагы жана жаштагы 100 000 калкка
-- sources: MOI-TIP, GPO-CASES, JD-CASES, NSC-POP
-- notes.en: Cases, prosecutions (cases sent to court) and convictions (persons) are on the total row of each territory.
-- notes.ru: Дела, преследование (дела, направленные в суд) и осуждение (лица) указаны в итоговой строке территории.
-- notes.ky: Иштер, куугунтуктоо (сотко жөнөтүлгөн иштер) жана соттоо (адамдар) аймактын жыйынтык сабында.
-- counts: victims, cases, prosecutions, convictions
-- rates: victims_per_100k = victims / population * 100000
-- col.victims: {en: "Victims detected", ru: "Выявлено жертв", ky: "Аныкталган курмандыктар"}
-- col.population: {en: "Population of the same sex and age", ru: "Население того же пола и возраста", ky: "Ошол эле жыныстагы жана жаштагы калк"}
-- col.victims_per_100k: {en: "Victims per 100,000 population", ru: "Жертв на 100 000 населения", ky: "100 000 калкка курмандыктар"}
-- col.cases: {en: "Cases registered (MoI)", ru: "Зарегистрировано дел (МВД)", ky: "Катталган иштер (ИИМ)"}
-- col.prosecutions: {en: "Cases sent to court (prosecutors)", ru: "Направлено дел в суд (прокуратура)", ky: "Сотко жөнөтүлгөн иштер (прокуратура)"}
-- col.convictions: {en: "Persons convicted", ru: "Осуждено лиц", ky: "Соттолгон адамдар"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year')),
victims AS (
    SELECT oblast, area, exploitation, sex, age, sum(value) AS victims
    FROM f
    WHERE form = 'MOI-TIP' AND tbl = 'T2' AND element IN ('tip_victims', 'tip_victims_sx',
          'tip_victims_fl', 'tip_victims_og', 'tip_victims_op')
    GROUP BY GROUPING SETS ((oblast, area, exploitation, sex, age), (exploitation, sex, age))
),
pop AS (
    SELECT oblast, sex,
           CASE WHEN age IN ('Y0T14', 'Y15T17') THEN 'Y0T17' ELSE 'Y18T999' END AS age_group,
           sum(value) AS population
    FROM f WHERE form = 'NSC-POP' AND element <> 'pop'
    GROUP BY GROUPING SETS ((oblast, sex, age_group), (sex, age_group))
),
pop_all AS (
    SELECT oblast, sex, age_group AS age, population FROM pop
    UNION ALL  -- every sex (and both together) over all ages
    SELECT oblast, sex, '_T', sum(population) FROM pop GROUP BY ALL
),
justice AS (
    SELECT oblast,
           sum(value) FILTER (WHERE element = 'tip_cases' AND col = 1) AS cases,
           sum(value) FILTER (WHERE element = 'gpo_cases_tip' AND stage = 'TO_COURT') AS prosecutions,
           sum(value) FILTER (WHERE element = 'jd_persons_tip' AND stage = 'CONVICTED' AND sex = '_T') AS convictions
    FROM f WHERE form IN ('MOI-TIP', 'GPO-CASES', 'JD-CASES')
    GROUP BY GROUPING SETS ((oblast), ())
)
SELECT getvariable('year') AS year,
       COALESCE(v.oblast, '41700000000000') AS territory, COALESCE(v.area, 'KG') AS area,
       v.exploitation, v.sex, v.age, v.victims, p.population,
       round(1e5 * v.victims / p.population, 2) AS victims_per_100k,
       CASE WHEN v.exploitation = '_T' AND v.sex = '_T' AND v.age = '_T' THEN j.cases END AS cases,
       CASE WHEN v.exploitation = '_T' AND v.sex = '_T' AND v.age = '_T' THEN j.prosecutions END AS prosecutions,
       CASE WHEN v.exploitation = '_T' AND v.sex = '_T' AND v.age = '_T' THEN j.convictions END AS convictions
FROM victims v
LEFT JOIN pop_all p ON p.oblast IS NOT DISTINCT FROM v.oblast AND p.sex = v.sex AND p.age = v.age
LEFT JOIN justice j ON j.oblast IS NOT DISTINCT FROM v.oblast
ORDER BY area = 'KG' DESC, area, exploitation, sex, age
