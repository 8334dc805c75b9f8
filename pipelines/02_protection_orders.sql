-- id: ind02_protection_orders
-- title.en: Protection orders: issued, extended, violated
-- title.ru: Охранные ордера: выданные, продлённые, нарушенные
-- title.ky: Коргоо ордерлери: берилген, узартылган, бузулган
-- unit.en: number; orders per report; percent of orders issued
-- unit.ru: число; ордеров на одно сообщение; процент от выданных
-- unit.ky: саны; бир билдирүүгө ордерлер; берилгендердин пайызы
-- sources: MOI-FV
-- notes.en: 2015-2018: restraining orders under the 2003 law (form v1); from 2019 temporary protection orders (Law No. 63 of 2017).
-- notes.ru: 2015-2018: защитные предписания по закону 2003 г. (форма v1); с 2019 г. временные охранные ордера (Закон № 63 от 2017 г.).
-- notes.ky: 2015-2018: 2003-жылкы мыйзам боюнча коргоо буйруктары (v1); 2019-жылдан убактылуу коргоо ордерлери (2017-жылдагы № 63 Мыйзам).
-- counts: orders_issued, orders_extended, orders_violated, reports
-- rates: orders_per_report = orders_issued / reports; extension_rate_pct = orders_extended / orders_issued * 100; violation_rate_pct = orders_violated / orders_issued * 100
-- col.orders_issued: {en: "Orders issued", ru: "Выдано ордеров", ky: "Берилген ордерлер"}
-- col.orders_extended: {en: "Orders extended", ru: "Продлено ордеров", ky: "Узартылган ордерлер"}
-- col.orders_violated: {en: "Orders violated", ru: "Нарушено ордеров", ky: "Бузулган ордерлер"}
-- col.reports: {en: "Reports registered", ru: "Зарегистрировано сообщений", ky: "Катталган билдирүүлөр"}
-- col.orders_per_report: {en: "Orders per report", ru: "Ордеров на одно сообщение", ky: "Бир билдирүүгө ордерлер"}
-- col.extension_rate_pct: {en: "Extended, % of issued", ru: "Продлено, % от выданных", ky: "Узартылган, берилгендердин %"}
-- col.violation_rate_pct: {en: "Violated, % of issued", ru: "Нарушено, % от выданных", ky: "Бузулган, берилгендердин %"}
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'tpo_issued') AS orders_issued,
       sum(value) FILTER (WHERE element = 'tpo_extended') AS orders_extended,
       sum(value) FILTER (WHERE element = 'tpo_violated') AS orders_violated,
       sum(value) FILTER (WHERE element = 'fv_reports') AS reports,
       round(orders_issued / NULLIF(reports, 0), 2) AS orders_per_report,
       round(100.0 * orders_extended / NULLIF(orders_issued, 0), 1) AS extension_rate_pct,
       round(100.0 * orders_violated / NULLIF(orders_issued, 0), 1) AS violation_rate_pct
FROM series_facts
WHERE year = getvariable('year') AND form = 'MOI-FV'
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
