-- id: ind05_trafficking
-- title.en: Victims of trafficking detected per 100,000 population (SDG 16.2.2) by sex, age and form of exploitation; cases, prosecutions, convictions
-- title.ru: Выявленные жертвы торговли людьми на 100 000 населения (ЦУР 16.2.2) по полу, возрасту и форме эксплуатации; дела, преследование, осуждение
-- title.ky: 100 000 калкка аныкталган адам сатуунун курмандыктары (ТӨМ 16.2.2) жынысы, курагы жана эксплуатациянын түрү боюнча; иштер, куугунтуктоо, соттоо
-- unit.en: persons; per 100,000 population of the same sex and age
-- unit.ru: человек; на 100 000 населения того же пола и возраста
-- unit.ky: адам; ошол эле жыныстагы жана жаштагы 100 000 калкка
-- sources: MOI-TIP, GPO-CASES, JD-CASES, NSC-POP
-- notes.en: Victims by form of exploitation (_U not recorded, _T all), sex (F, M, _U not recorded, _T) and age (Y0T17 children, Y18T999 adults, _U not recorded, _T all ages); for all forms of exploitation also by the age groups Y18T29 .. Y_GE50. A rate divides victims by the population of the same sex and age (NSC-POP); there is none for unrecorded sex or age. Cases, prosecutions (cases sent to court) and convictions (persons) are on the total row of each territory.
-- notes.ru: Жертвы по форме эксплуатации (_U не установлена, _T все), полу (F, M, _U не установлен, _T) и возрасту (Y0T17 дети, Y18T999 взрослые, _U не установлен, _T все возрасты); для всех форм эксплуатации — также по возрастным группам Y18T29 .. Y_GE50. Показатель делит число жертв на население того же пола и возраста (НСК-НАС); для неустановленного пола или возраста его нет. Дела, преследование (дела, направленные в суд) и осуждение (лица) указаны в итоговой строке территории.
-- notes.ky: Курмандыктар эксплуатациянын түрү (_U аныкталган эмес, _T бардыгы), жынысы (F, M, _U аныкталган эмес, _T) жана курагы (Y0T17 балдар, Y18T999 чоңдор, _U аныкталган эмес, _T бардык курактар) боюнча; эксплуатациянын бардык түрлөрү үчүн Y18T29 .. Y_GE50 курак топтору боюнча да. Көрсөткүч курмандыктарды ошол эле жыныстагы жана жаштагы калкка (УСК-КАЛК) бөлөт; жынысы же жашы аныкталбагандар үчүн ал жок. Иштер, куугунтуктоо (сотко жөнөтүлгөн иштер) жана соттоо (адамдар) аймактын жыйынтык сабында.
-- counts: victims, cases, prosecutions, convictions
-- rates: victims_per_100k = victims / population * 100000
-- col.victims: {en: "Victims detected", ru: "Выявлено жертв", ky: "Аныкталган курмандыктар"}
-- col.population: {en: "Population of the same sex and age", ru: "Население того же пола и возраста", ky: "Ошол эле жыныстагы жана жаштагы калк"}
-- col.victims_per_100k: {en: "Victims per 100,000 population of the same sex and age", ru: "Жертв на 100 000 населения того же пола и возраста", ky: "Ошол эле жыныстагы жана жаштагы 100 000 калкка курмандыктар"}
-- col.cases: {en: "Cases registered (MoI)", ru: "Зарегистрировано дел (МВД)", ky: "Катталган иштер (ИИМ)"}
-- col.prosecutions: {en: "Cases sent to court (prosecutors)", ru: "Направлено дел в суд (прокуратура)", ky: "Сотко жөнөтүлгөн иштер (прокуратура)"}
-- col.convictions: {en: "Persons convicted", ru: "Осуждено лиц", ky: "Соттолгон адамдар"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year')
           AND form IN ('MOI-TIP', 'GPO-CASES', 'JD-CASES', 'NSC-POP')),
by_form AS (  -- table 2, lines 01-06: by form of exploitation, and sex by children/adults
    SELECT oblast, area, exploitation, sex, age, value
    FROM f
    WHERE form = 'MOI-TIP' AND element IN ('tip_victims', 'tip_victims_sx', 'tip_victims_fl',
          'tip_victims_og', 'tip_victims_op', 'tip_victims_unk')
),
by_age AS (  -- table 3: by age group and sex, all forms of exploitation
    SELECT oblast, area, '_T' AS exploitation, sex, age, value
    FROM f WHERE form = 'MOI-TIP' AND tbl = 'T3'
),
cells AS (
    -- all forms: the ages come from table 3, the totals from table 2
    SELECT * FROM by_form WHERE exploitation <> '_T' OR age = '_T'
    UNION ALL SELECT * FROM by_age
    UNION ALL  -- each sex over all ages, unrecorded age included
    SELECT oblast, area, exploitation, sex, '_T', sum(value)
    FROM by_form WHERE sex IN ('F', 'M') GROUP BY oblast, area, exploitation, sex
    UNION ALL  -- adults (18 and over): the age groups from 18
    SELECT oblast, area, exploitation, sex, 'Y18T999', sum(value)
    FROM by_age WHERE age IN ('Y18T29', 'Y30T39', 'Y40T49', 'Y_GE50')
    GROUP BY oblast, area, exploitation, sex
),
victims AS (
    SELECT oblast, area, exploitation, sex, age, sum(value) AS victims
    FROM cells
    GROUP BY GROUPING SETS ((oblast, area, exploitation, sex, age), (exploitation, sex, age))
),
pop_lines AS (
    SELECT oblast, sex,
           CASE WHEN age = '_T' THEN '_T' WHEN age IN ('Y0T14', 'Y15T17') THEN 'Y0T17' ELSE 'Y18T999' END AS age,
           value
    FROM f WHERE form = 'NSC-POP'
),
pop AS (
    SELECT oblast, sex, age, sum(value) AS population
    FROM pop_lines GROUP BY GROUPING SETS ((oblast, sex, age), (sex, age))
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
LEFT JOIN pop p ON p.oblast IS NOT DISTINCT FROM v.oblast AND p.sex = v.sex AND p.age = v.age
LEFT JOIN justice j ON j.oblast IS NOT DISTINCT FROM v.oblast
ORDER BY area = 'KG' DESC, area,
         list_position(['_T', 'SX', 'FL', 'OG', 'OP', '_U'], v.exploitation),
         list_position(['_T', 'F', 'M', '_U'], v.sex),
         list_position(['_T', 'Y0T17', 'Y18T999', 'Y18T29', 'Y30T39', 'Y40T49', 'Y_GE50', '_U'], v.age)
