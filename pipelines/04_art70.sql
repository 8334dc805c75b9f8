-- id: ind04_art70
-- title.en: Family violence as an administrative offence (Code of Offences, Art. 70)
-- title.ru: Семейное насилие как правонарушение (Кодекс о правонарушениях, ст. 70)
-- title.ky: Үй-бүлөлүк зомбулук укук бузуу катары (Укук бузуулар жөнүндө кодекс, 70-берене)
-- unit.en: number
-- unit.ru: число
-- unit.ky: саны
-- sources: MOI-FV, JD-CASES
-- notes.en: Reported from 2019.
-- notes.ru: Учитывается с 2019 г.
-- notes.ky: 2019-жылдан бери эсепке алынат.
-- counts: protocols, sent_to_court, heard, sanctioned, community_service, arrest, fine
-- sums: sanctioned = community_service + arrest + fine
-- elements: MOI-FV:art70_protocols, MOI-FV:art70_to_court, JD-CASES:art70_heard, JD-CASES:art70_sanctioned
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'art70_protocols') AS protocols,
       sum(value) FILTER (WHERE element = 'art70_to_court') AS sent_to_court,
       sum(value) FILTER (WHERE element = 'art70_heard') AS heard,
       sum(value) FILTER (WHERE element = 'art70_sanctioned') AS sanctioned,
       sum(value) FILTER (WHERE element = 'art70_csv') AS community_service,
       sum(value) FILTER (WHERE element = 'art70_arrest') AS arrest,
       sum(value) FILTER (WHERE element = 'art70_fine') AS fine
FROM series_facts
WHERE year = getvariable('year') AND form IN ('MOI-FV', 'JD-CASES')
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
