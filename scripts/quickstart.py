"""The quick start's steps (run by scripts/quickstart.sh against a sandbox server)."""
import json
import subprocess
import sys
import urllib.error
import urllib.request

base, work, binary = sys.argv[1], sys.argv[2], sys.argv[3]
keys = {role: open(f"{work}/{role}").read().strip() for role in ("admin", "platform", "analyst")}
DAY_MS = 86_400_000


def call(method, path, role, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data, method=method, headers={
        "authorization": "Bearer " + keys[role], "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def step(title, method, path, role, body=None, expect=200, check=None):
    status, answer = call(method, path, role, body)
    print(f"\n## {title}\n{method} {path} -> {status}\n{json.dumps(answer, ensure_ascii=False)[:600]}")
    if status != expect or (check is not None and not check(answer)):
        sys.exit(f"quick start: unexpected answer to {title}")
    return answer


def advance(days, why):
    out = subprocess.run([binary, "sandbox", "advance", "--days", str(days), "--url", base, "--key", keys["admin"]],
                         check=True, capture_output=True, text=True).stdout
    print(f"\n## the sandbox clock moves {days} days ({why})\n{out.strip()}")


step("open a user with full identity", "POST", "/v1/users", "platform",
     {"command_id": 10, "user_id": 42, "currency": "CNY", "identity": "full"})
step("grant a credit line of ¥10,000", "POST", "/v1/credit-limits", "admin",
     {"command_id": 11, "user_id": 42, "limit_minor": 1_000_000})
step("open a certified merchant", "POST", "/v1/merchants", "admin",
     {"command_id": 12, "merchant_id": 7, "currency": "CNY", "category": "physical_goods",
      "verification": "certified"})
advance(181, "the default product opens the official withdrawal to accounts 180 days old")
step("the user's credit score: a new account starts at 600", "GET", "/v1/users/42/score", "platform",
     check=lambda answer: answer["score"] == 600)
step("the default product's withdrawal needs a score of 650: refused", "POST", "/v1/credit-withdrawals",
     "platform", {"command_id": 19, "user_id": 42, "amount_minor": 150_000, "purpose": "education"},
     expect=409, check=lambda answer: answer["code"] == "withdrawal_score_too_low")
step("(sandbox shortcut) an operator adjusts the score by +60 instead of months of on-time repayments",
     "POST", "/v1/score-adjustments", "admin", {"command_id": 18, "user_id": 42, "points": 60})
step("request an official withdrawal of ¥1,500 (step-up from ¥1,000)", "POST",
                  "/v1/credit-withdrawals", "platform",
                  {"command_id": 20, "user_id": 42, "amount_minor": 150_000, "purpose": "education"},
                  check=lambda answer: answer["status"] == "challenged")
step("the user passes the step-up verification: the money lands in the balance", "POST",
     "/v1/credit-withdrawal-verifications", "platform", {"command_id": 21, "user_id": 42, "withdrawal_id": 20},
     check=lambda answer: answer.get("amount_minor") == 150_000)
step("buy for ¥300: ¥200 on credit, ¥100 from the balance", "POST", "/v1/payments", "platform",
     {"command_id": 30, "user_id": 42, "merchant_id": 7, "credit_minor": 20_000, "balance_minor": 10_000})
step("the merchant refunds ¥150: credit first goes back to the line, never to the balance", "POST",
     "/v1/refunds", "admin", {"command_id": 31, "payment_id": 30, "merchant_id": 7, "amount_minor": 15_000})
step("buy for ¥1,200 on credit", "POST", "/v1/payments", "platform",
     {"command_id": 32, "user_id": 42, "merchant_id": 7, "credit_minor": 120_000})
step("split that purchase into 3 instalments (a fee, on the line)", "POST", "/v1/instalments", "platform",
     {"command_id": 33, "user_id": 42, "payment_id": 32, "periods": 3})
advance(31, "the month ends: the statement closes")
statements = step("the statement (账单)", "GET", "/v1/users/42/statements", "platform",
                  check=lambda answer: len(answer) >= 1)
step("repay the statement in full from the bank", "POST", "/v1/statement-repayments", "platform",
     {"command_id": 40, "user_id": 42, "source": "bank", "in_full": True})
step("install the default risk rules", "POST", "/v1/rules", "admin",
     {"command_id": 50, "toml": open("rules/default.toml").read()})
step("the user and merchant 7 share a phone", "POST", "/v1/ties", "platform",
     {"command_id": 51, "user_id": 42, "tie": {"kind": "phone", "token": 555}})
step("(the merchant side of the tie)", "POST", "/v1/ties", "platform",
     {"command_id": 52, "merchant_id": 7, "tie": {"kind": "phone", "token": 555}})
step("a credit payment to a merchant tied to the payer is held for review", "POST", "/v1/payments",
     "platform", {"command_id": 53, "user_id": 42, "merchant_id": 7, "credit_minor": 50_000},
     check=lambda answer: answer["status"] == "held_for_review")
step("the analyst's queue", "GET", "/v1/cases?status=open", "analyst", check=lambda answer: len(answer) == 1)
step("the user appeals with a receipt", "POST", "/v1/appeals", "platform",
     {"command_id": 54, "case_id": 53, "evidence": [{"kind": "receipt", "reference": "INV-2027-06-01"}],
      "text": "stock for my own shop"})
step("the analyst approves: the held payment goes through", "POST", "/v1/case-decisions", "analyst",
     {"command_id": 55, "case_id": 53, "approve": True, "label": "not_fraud"},
     check=lambda answer: answer.get("credit_minor") == 50_000)
step("the case, with who opened, appealed and decided it", "GET", "/v1/cases/53", "analyst",
     check=lambda answer: answer["status"] == "approved" and "decided_by" in answer)
step("the user's line and balance now", "GET", "/v1/users/42", "platform")
print("\nquick start: every step answered as documented")
