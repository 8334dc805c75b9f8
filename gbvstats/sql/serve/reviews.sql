-- Every decision taken on one submission, in order.
SELECT review_id, decision, comment, reviewer, reviewer_agency, decided_at
FROM reviews WHERE submission_id = ? ORDER BY review_id
