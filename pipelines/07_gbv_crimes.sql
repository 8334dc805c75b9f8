-- id: ind07_gbv_crimes
-- title.en: GBV crimes by ICCS category and victim-perpetrator relationship
-- title.ru: Преступления ГОН по категориям МКПС и отношению жертвы к виновному
-- title.ky: ГЗЗ кылмыштары КСЭК категориялары жана жабырлануучунун күнөөлүүгө мамилеси боюнча
-- unit.en: crimes; victims
-- unit.ru: преступлений; потерпевших
-- unit.ky: кылмыштар; жабырлануучулар
-- sources: MOI-GBV
-- notes.en: Crimes are on the rows with relationship _T; victims on every row.
-- notes.ru: Преступления указаны в строках с отношением _T; потерпевшие — во всех строках.
-- notes.ky: Кылмыштар _T мамилеси бар саптарда; жабырлануучулар бардык саптарда.
-- counts: crimes, victims
-- col.crimes: {en: "Crimes registered", ru: "Зарегистрировано преступлений", ky: "Катталган кылмыштар"}
-- col.victims: {en: "Victims", ru: "Потерпевшие", ky: "Жабырлануучулар"}
-- col.iccs: {en: "ICCS code", ru: "Код МКПС", ky: "КСЭК коду"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year') AND form = 'MOI-GBV'),
victims AS (
    SELECT oblast, area, offence, any_value(iccs) AS iccs, relationship, sum(value) AS victims
    FROM f WHERE tbl = 'T2'
    GROUP BY GROUPING SETS ((oblast, area, offence, relationship), (offence, relationship))
),
crimes AS (
    SELECT oblast, offence, sum(value) AS crimes
    FROM f WHERE tbl = 'T1' AND col = 1
    GROUP BY GROUPING SETS ((oblast, offence), (offence))
)
SELECT getvariable('year') AS year,
       COALESCE(v.oblast, '41700000000000') AS territory, COALESCE(v.area, 'KG') AS area,
       v.offence, v.iccs, v.relationship,
       CASE WHEN v.relationship = '_T' THEN c.crimes END AS crimes, v.victims
FROM victims v
LEFT JOIN crimes c ON c.oblast IS NOT DISTINCT FROM v.oblast AND c.offence = v.offence
ORDER BY area = 'KG' DESC, area, v.offence, v.relationship
