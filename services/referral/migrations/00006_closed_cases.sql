-- +goose Up
-- Cases case-direction reported closed (CaseClosed). A referral for a case is made only while
-- the case is not here, and closing a case cancels its open referrals; both take the case's
-- advisory lock, so a referral made while the case closes is either refused or cancelled.
CREATE TABLE closed_cases (
    case_id   uuid PRIMARY KEY,
    closed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE closed_cases;
