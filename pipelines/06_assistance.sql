-- id: ind06_assistance
-- title.en: Assistance to victims and the correctional programme for perpetrators
-- title.ru: Помощь пострадавшим и коррекционная программа для лиц, совершивших насилие
-- title.ky: Жабырлануучуларга жардам жана зомбулук жасагандар үчүн түзөтүү программасы
-- unit.en: persons; ratio; percent
-- unit.ru: человек; коэффициент; процент
-- unit.ky: адам; коэффициент; пайыз
-- sources: MLSP-SP, MOI-TIP, MOI-FV
-- notes.en: Reported from 2019.
-- notes.ru: Учитывается с 2019 г.
-- notes.ky: 2019-жылдан бери эсепке алынат.
-- counts: tip_identified, tip_assisted, fv_victims_moi, fv_clients, service_psychological, service_legal, service_shelter, service_medical, programme_referred, programme_completed
-- rates: tip_assisted_per_identified = tip_assisted / tip_identified; fv_clients_per_victim = fv_clients / fv_victims_moi; programme_completion_pct = programme_completed / programme_referred * 100
-- col.tip_identified: {en: "Trafficking victims identified (MoI)", ru: "Выявлено жертв торговли людьми (МВД)", ky: "Аныкталган адам сатуунун курмандыктары (ИИМ)"}
-- col.tip_assisted: {en: "Trafficking victims assisted (MLSP)", ru: "Получили помощь жертвы торговли людьми (МТСР)", ky: "Жардам алган адам сатуунун курмандыктары (ЭСӨМ)"}
-- col.fv_victims_moi: {en: "Family-violence victims (MoI)", ru: "Пострадавшие от семейного насилия (МВД)", ky: "Үй-бүлөлүк зомбулуктан жабыр тарткандар (ИИМ)"}
-- col.fv_clients: {en: "Family-violence victims who applied (MLSP)", ru: "Обратившиеся пострадавшие от семейного насилия (МТСР)", ky: "Кайрылган үй-бүлөлүк зомбулуктан жабыр тарткандар (ЭСӨМ)"}
-- col.service_psychological: {en: "Psychological help", ru: "Психологическая помощь", ky: "Психологиялык жардам"}
-- col.service_legal: {en: "Legal help", ru: "Юридическая помощь", ky: "Юридикалык жардам"}
-- col.service_shelter: {en: "Shelter", ru: "Приют", ky: "Баш калкалоочу жай"}
-- col.service_medical: {en: "Medical referral", ru: "Направление к врачу", ky: "Дарыгерге жөнөтүү"}
-- col.programme_referred: {en: "Referred to the correctional programme", ru: "Направлено в коррекционную программу", ky: "Түзөтүү программасына жөнөтүлгөндөр"}
-- col.programme_completed: {en: "Completed the correctional programme", ru: "Завершили коррекционную программу", ky: "Түзөтүү программасын аяктагандар"}
-- col.tip_assisted_per_identified: {en: "Assisted per victim identified", ru: "Получивших помощь на одну выявленную жертву", ky: "Бир аныкталган курмандыкка жардам алгандар"}
-- col.fv_clients_per_victim: {en: "Applied to MLSP per victim registered by MoI", ru: "Обратившихся в МТСР на одного пострадавшего, учтённого МВД", ky: "ИИМ каттаган бир жабырлануучуга ЭСӨМгө кайрылгандар"}
-- col.programme_completion_pct: {en: "Completed, % of referred", ru: "Завершили, % от направленных", ky: "Аяктагандар, жөнөтүлгөндөрдүн %"}
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'tip_victims' AND sex = '_T') AS tip_identified,
       sum(value) FILTER (WHERE element = 'mlsp_tip_assisted' AND sex = '_T') AS tip_assisted,
       sum(value) FILTER (WHERE element = 'fv_victims' AND sex = '_T') AS fv_victims_moi,
       sum(value) FILTER (WHERE element = 'mlsp_fv_clients' AND sex = '_T') AS fv_clients,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_psy' AND sex = '_T') AS service_psychological,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_leg' AND sex = '_T') AS service_legal,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_shl' AND sex = '_T') AS service_shelter,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_med' AND sex = '_T') AS service_medical,
       sum(value) FILTER (WHERE element = 'cp_referred' AND sex = '_T') AS programme_referred,
       sum(value) FILTER (WHERE element = 'cp_completed' AND sex = '_T') AS programme_completed,
       round(tip_assisted / NULLIF(tip_identified, 0), 2) AS tip_assisted_per_identified,
       round(fv_clients / NULLIF(fv_victims_moi, 0), 2) AS fv_clients_per_victim,
       round(100.0 * programme_completed / NULLIF(programme_referred, 0), 1) AS programme_completion_pct
FROM series_facts
WHERE year = getvariable('year') AND form IN ('MLSP-SP', 'MOI-TIP', 'MOI-FV')
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
