-- id: ind01_family_violence
-- title.en: Family violence: reports registered and victims by sex, age, education and economic activity, per 100,000 population
-- title.ru: Семейное насилие: зарегистрированные сообщения и пострадавшие по полу, возрасту, образованию и экономической активности, на 100 000 населения
-- title.ky: Үй-бүлөлүк зомбулук: катталган билдирүүлөр жана жабырлануучулар жынысы, курагы, билими жана экономикалык активдүүлүгү боюнча, 100 000 калкка
-- unit.en: number; rates per 100,000 population of the same sex and age
-- unit.ru: число; на 100 000 населения того же пола и возраста
-- unit.ky: саны; ошол эле жыныстагы жана жаштагы 100 000 калкка
-- sources: MOI-FV (v1 2015-2018 and v2 through the concordance), NSC-POP
-- notes.en: One row per breakdown: sex (F women and girls, M men and boys, _T both) by age (_T all ages, Y0T17 children, Y18T999 adults, the NSC's bands Y0T20 .. Y_GE51, _U not recorded), by education (ISCED 2011 levels; _O other or none) and by economic activity. Reports are on the row of all victims. A rate divides victims by the population of the same sex and age (NSC-POP), so women victims per 100,000 women is the row sex F, age _T, and adult women per 100,000 adult women the row F, Y18T999. Form v1 (2015-2018) counted victims in total and women and girls: men and boys are the difference; the other breakdowns start in 2019.
-- notes.ru: Одна строка на разбивку: пол (F женщины и девочки, M мужчины и мальчики, _T оба пола) по возрасту (_T все возрасты, Y0T17 дети, Y18T999 взрослые, группы НСК Y0T20 .. Y_GE51, _U не установлен), по образованию (уровни МСКО 2011; _O другой или без образования) и по экономической активности. Сообщения указаны в строке всех пострадавших. Показатель на 100 000 делит число пострадавших на население того же пола и возраста (НСК-НАС): пострадавшие женщины на 100 000 женщин — строка пол F, возраст _T, взрослые женщины на 100 000 взрослых женщин — строка F, Y18T999. Форма v1 (2015-2018) учитывала пострадавших всего и женщин и девочек: мужчины и мальчики — разность; остальные разбивки — с 2019 г.
-- notes.ky: Ар бир бөлүштүрүүгө бир сап: жынысы (F аялдар жана кыздар, M эркектер жана балдар, _T эки жыныс) курагы боюнча (_T бардык курактар, Y0T17 балдар, Y18T999 чоңдор, УСКнын Y0T20 .. Y_GE51 топтору, _U аныкталган эмес), билими боюнча (МСКО 2011 деңгээлдери; _O башка же билими жок) жана экономикалык активдүүлүгү боюнча. Билдирүүлөр бардык жабырлануучулардын сабында. 100 000 калкка көрсөткүч жабырлануучуларды ошол эле жыныстагы жана жаштагы калкка (УСК-КАЛК) бөлөт: 100 000 аялга жабыр тарткан аялдар — F, _T сабы, 100 000 чоң аялга чоң аялдар — F, Y18T999 сабы. v1 формасы (2015-2018) жабырлануучуларды бардыгы жана аялдар менен кыздар боюнча эсептеген: эркектер жана балдар — айырмасы; калган бөлүштүрүүлөр 2019-жылдан.
-- counts: reports, victims
-- rates: reports_per_100k = reports / population * 100000; victims_per_100k = victims / population * 100000
-- col.reports: {en: "Reports registered", ru: "Зарегистрировано сообщений", ky: "Катталган билдирүүлөр"}
-- col.victims: {en: "Victims", ru: "Пострадавшие", ky: "Жабырлануучулар"}
-- col.population: {en: "Population of the same sex and age", ru: "Население того же пола и возраста", ky: "Ошол эле жыныстагы жана жаштагы калк"}
-- col.reports_per_100k: {en: "Reports per 100,000 population", ru: "Сообщений на 100 000 населения", ky: "100 000 калкка билдирүүлөр"}
-- col.victims_per_100k: {en: "Victims per 100,000 population of the same sex and age", ru: "Пострадавших на 100 000 населения того же пола и возраста", ky: "Ошол эле жыныстагы жана жаштагы 100 000 калкка жабырлануучулар"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year') AND form IN ('MOI-FV', 'NSC-POP')),
cells AS (  -- victims: table 2 line 01 (sex by children/adults) and table 6 (age bands, education, activity)
    SELECT oblast, area, COALESCE(sex, '_T') AS sex, COALESCE(age, '_T') AS age,
           COALESCE(education, '_T') AS education, COALESCE(activity, '_T') AS activity, value
    FROM f WHERE form = 'MOI-FV' AND (element = 'fv_victims' OR tbl = 'T6')
),
derived AS (
    -- children and adults of both sexes: girls + boys, women + men
    SELECT oblast, area, '_T' AS sex, age, '_T' AS education, '_T' AS activity, sum(value) AS value
    FROM cells WHERE sex IN ('F', 'M') AND age IN ('Y0T17', 'Y18T999') AND education = '_T' AND activity = '_T'
    GROUP BY oblast, area, age
    UNION ALL
    -- men and boys where the form has no such column (v1, 2015-2018): all victims less women and girls
    SELECT oblast, area, 'M', '_T', '_T', '_T',
           sum(value) FILTER (WHERE sex = '_T') - sum(value) FILTER (WHERE sex = 'F')
    FROM cells WHERE age = '_T' AND education = '_T' AND activity = '_T'
    GROUP BY oblast, area
    HAVING count(*) FILTER (WHERE sex = 'M') = 0
),
victims AS (
    SELECT oblast, area, sex, age, education, activity, sum(value) AS victims
    FROM (SELECT * FROM cells UNION ALL SELECT * FROM derived)
    GROUP BY GROUPING SETS ((oblast, area, sex, age, education, activity), (sex, age, education, activity))
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
reports AS (
    SELECT oblast, sum(value) AS reports
    FROM f WHERE form = 'MOI-FV' AND element = 'fv_reports'
    GROUP BY GROUPING SETS ((oblast), ())
),
out AS (
    SELECT v.*, p.population,
           CASE WHEN v.sex = '_T' AND v.age = '_T' AND v.education = '_T' AND v.activity = '_T'
                THEN r.reports END AS reports
    FROM victims v
    LEFT JOIN pop p ON p.oblast IS NOT DISTINCT FROM v.oblast AND p.sex = v.sex AND p.age = v.age
                   AND v.education = '_T' AND v.activity = '_T'
    LEFT JOIN reports r ON r.oblast IS NOT DISTINCT FROM v.oblast
)
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sex, age, education, activity,
       reports, victims, population,
       round(1e5 * reports / population, 1) AS reports_per_100k,
       round(1e5 * victims / population, 1) AS victims_per_100k
FROM out
ORDER BY area = 'KG' DESC, area, education <> '_T', education, activity <> '_T', activity,
         list_position(['_T', 'F', 'M'], sex),
         list_position(['_T', 'Y0T17', 'Y18T999', 'Y0T20', 'Y21T30', 'Y31T40', 'Y41T50', 'Y_GE51', '_U'], age)
