-- id: ind01_family_violence
-- title.en: Family violence: reports registered and victims, rates per 100,000 population
-- title.ru: Семейное насилие: зарегистрированные сообщения и пострадавшие, на 100 000 населения
-- title.ky: Үй-бүлөлүк зомбулук: катталган билдирүүлөр жана жабырлануучулар, 100 000 калкка
-- unit.en: number; rates per 100,000 population (adult women victims per 100,000 adult women)
-- unit.ru: число; на 100 000 населения (пострадавшие женщины 18 лет и старше на 100 000 женщин 18 лет и старше)
-- unit.ky: саны; 100 000 калкка (18 жаштан улуу жабыр тарткан аялдар 18 жаштан улуу 100 000 аялга)
-- sources: MOI-FV (v1 2015-2018 and v2 through the concordance), NSC-POP
-- notes.en: Victims by sex and age are reported from 2019 (form v2); before, only the total.
-- notes.ru: Пострадавшие по полу и возрасту учитываются с 2019 г. (форма v2); ранее только всего.
-- notes.ky: Жабырлануучулар жынысы жана жашы боюнча 2019-жылдан (v2 формасы); буга чейин бардыгы гана.
-- counts: reports, victims, victims_women, victims_men, victims_girls, victims_boys
-- rates: reports_per_100k = reports / population * 100000; victims_per_100k = victims / population * 100000; women_victims_per_100k_women = victims_women / population_adult_women * 100000
-- sums: victims = victims_women + victims_men + victims_girls + victims_boys
-- col.reports: {en: "Reports registered", ru: "Зарегистрировано сообщений", ky: "Катталган билдирүүлөр"}
-- col.victims: {en: "Victims, total", ru: "Пострадавшие, всего", ky: "Жабырлануучулар, бардыгы"}
-- col.victims_women: {en: "Victims: women (18 and over)", ru: "Пострадавшие: женщины (18 лет и старше)", ky: "Жабырлануучулар: аялдар (18 жаш жана андан улуу)"}
-- col.victims_men: {en: "Victims: men (18 and over)", ru: "Пострадавшие: мужчины (18 лет и старше)", ky: "Жабырлануучулар: эркектер (18 жаш жана андан улуу)"}
-- col.victims_girls: {en: "Victims: girls (under 18)", ru: "Пострадавшие: девочки (до 18 лет)", ky: "Жабырлануучулар: кыздар (18 жашка чейин)"}
-- col.victims_boys: {en: "Victims: boys (under 18)", ru: "Пострадавшие: мальчики (до 18 лет)", ky: "Жабырлануучулар: балдар (18 жашка чейин)"}
-- col.population: {en: "Population", ru: "Население", ky: "Калк"}
-- col.population_women: {en: "Women (all ages)", ru: "Женщины (все возрасты)", ky: "Аялдар (бардык курактар)"}
-- col.population_adult_women: {en: "Women 18 and over", ru: "Женщины 18 лет и старше", ky: "18 жаш жана андан улуу аялдар"}
-- col.reports_per_100k: {en: "Reports per 100,000 population", ru: "Сообщений на 100 000 населения", ky: "100 000 калкка билдирүүлөр"}
-- col.victims_per_100k: {en: "Victims per 100,000 population", ru: "Пострадавших на 100 000 населения", ky: "100 000 калкка жабырлануучулар"}
-- col.women_victims_per_100k_women: {en: "Women victims per 100,000 women (18 and over)", ru: "Пострадавших женщин на 100 000 женщин (18 лет и старше)", ky: "100 000 аялга жабыр тарткан аялдар (18 жаш жана андан улуу)"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year')),
fv AS (
    SELECT oblast, area,
           sum(value) FILTER (WHERE element = 'fv_reports') AS reports,
           sum(value) FILTER (WHERE element = 'fv_victims' AND sex = '_T') AS victims,
           sum(value) FILTER (WHERE element = 'fv_victims' AND sex = 'F' AND age = 'Y18T999') AS victims_women,
           sum(value) FILTER (WHERE element = 'fv_victims' AND sex = 'M' AND age = 'Y18T999') AS victims_men,
           sum(value) FILTER (WHERE element = 'fv_victims' AND sex = 'F' AND age = 'Y0T17') AS victims_girls,
           sum(value) FILTER (WHERE element = 'fv_victims' AND sex = 'M' AND age = 'Y0T17') AS victims_boys
    FROM f WHERE form = 'MOI-FV'
    GROUP BY GROUPING SETS ((oblast, area), ())
),
pop AS (
    SELECT oblast,
           sum(value) FILTER (WHERE element = 'pop' AND sex = '_T') AS pop_total,
           sum(value) FILTER (WHERE element = 'pop' AND sex = 'F') AS pop_women,
           sum(value) FILTER (WHERE sex = 'F' AND age IN ('Y18T29', 'Y30T39', 'Y40T59', 'Y60T999')) AS pop_adult_women
    FROM f WHERE form = 'NSC-POP'
    GROUP BY GROUPING SETS ((oblast), ())
)
SELECT getvariable('year') AS year,
       COALESCE(fv.oblast, '41700000000000') AS territory, COALESCE(fv.area, 'KG') AS area,
       fv.reports, fv.victims, fv.victims_women, fv.victims_men, fv.victims_girls, fv.victims_boys,
       pop.pop_total AS population, pop.pop_women AS population_women,
       pop.pop_adult_women AS population_adult_women,
       round(1e5 * fv.reports / pop.pop_total, 1) AS reports_per_100k,
       round(1e5 * fv.victims / pop.pop_total, 1) AS victims_per_100k,
       round(1e5 * fv.victims_women / pop.pop_adult_women, 1) AS women_victims_per_100k_women
FROM fv LEFT JOIN pop ON pop.oblast IS NOT DISTINCT FROM fv.oblast
ORDER BY area = 'KG' DESC, area
