"""A small FAQ written for tuning retrieval (issue 23), never reported on as a result.

Thirty entries of a bank's and a shop's FAQ with their answers, two reworded questions per entry
written without looking at any corpus, and questions no entry answers. The corpora's held-out
sets (covid_qa_faq paraphrases, hint3's test halves, banking77's test split) are what results
are reported on; this set and banking77's training split are what choices were made on.
"""

from __future__ import annotations

# (question, answer, reworded questions)
ENTRIES: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "How do I reset my password?",
        "Open the app, tap Forgot password on the sign-in screen and follow the link we e-mail "
        "you. The link works for 30 minutes.",
        ("i forgot my login details", "can't remember the code to sign in"),
    ),
    (
        "How do I block my card?",
        "In the app, go to Cards, choose the card and tap Freeze card. You can unfreeze it at any "
        "time. If your card was stolen, call us as well.",
        ("my card was stolen what do i do", "freeze my debit card"),
    ),
    (
        "What are your opening hours?",
        "Our branches are open Monday to Friday, 9:00 to 17:00, and Saturday 9:00 to 13:00. Chat "
        "and phone support are available around the clock.",
        ("when is the branch open", "are you open on saturdays"),
    ),
    (
        "How long does a bank transfer take?",
        "Transfers between accounts here arrive instantly. Transfers to other banks usually "
        "arrive within two hours on working days.",
        ("my payment to another bank hasn't arrived yet", "how fast do transfers go through"),
    ),
    (
        "How do I open a savings account?",
        "Open the app, tap Accounts, then Open a new account and choose Savings. It takes about "
        "five minutes and you need your ID.",
        ("i want to start saving money with you", "can i get an account that pays interest"),
    ),
    (
        "What is the daily ATM withdrawal limit?",
        "You can withdraw up to 500 pounds a day from cash machines. You can change the limit in "
        "the app under Cards, Limits.",
        ("how much cash can i take out per day", "maximum amount from a cash machine"),
    ),
    (
        "How do I update my address?",
        "Go to Profile, then Personal details, and tap Address. We may ask you to confirm the "
        "change with a code sent to your phone.",
        ("i moved house", "change where you send my letters"),
    ),
    (
        "Are there fees for using my card abroad?",
        "Card payments abroad are free. Withdrawals from cash machines abroad cost 2% of the "
        "amount, at least 1.50 pounds.",
        ("cost to take cash out abroad", "do you charge when i pay in euros on holiday"),
    ),
    (
        "How do I dispute a transaction?",
        "Open the transaction in the app and tap Report a problem. We reply within two working "
        "days and may refund the amount while we investigate.",
        ("there is a payment i don't recognise", "a shop charged me twice"),
    ),
    (
        "How do I close my account?",
        "You can close your account in the app under Profile, Close account, once its balance "
        "is zero. We send a confirmation by e-mail.",
        ("i want to leave the bank", "cancel my account for good"),
    ),
    (
        "How do I order a new card?",
        "In the app, go to Cards and tap Order a replacement. The new card arrives within five "
        "working days; the old one stops working when you activate the new one.",
        ("my card is damaged and doesn't work", "i need a replacement card"),
    ),
    (
        "Can I change my PIN?",
        "Yes: at any of our cash machines choose PIN services, or in the app under Cards, Show "
        "PIN to see it.",
        ("i don't like my pin number", "how can i see my card's pin"),
    ),
    (
        "How do I add money to my account?",
        "Transfer money from another bank to your account number and sort code, or pay cash in "
        "at a branch.",
        ("how to top up", "deposit cash"),
    ),
    (
        "Is there an overdraft?",
        "You can ask for an arranged overdraft of up to 1,000 pounds in the app under Borrowing. "
        "Interest is 19.9% a year on the amount you use.",
        ("can my balance go below zero", "borrow a bit when i run out of money"),
    ),
    (
        "How do I set up a standing order?",
        "In Payments, tap New, choose Standing order, and enter the amount, the date and how "
        "often it repeats.",
        ("pay my rent automatically every month", "schedule a regular payment"),
    ),
    (
        "How do I contact customer service?",
        "Chat with us in the app at any time, or call us; the number is on the back of your card.",
        ("i want to speak to a person", "what's your phone number"),
    ),
    (
        "Can I use Apple Pay or Google Pay?",
        "Yes. Add your card to your phone's wallet from the Cards screen in the app.",
        ("pay with my phone", "contactless payments with my mobile"),
    ),
    (
        "Where can I find my statements?",
        "Statements for every month are in the app under Accounts, Statements, as PDF files.",
        ("i need a record of my transactions for my accountant", "download last month's history"),
    ),
    (
        "How do I get a loan?",
        "Personal loans from 1,000 to 25,000 pounds are in the app under Borrowing. You get a "
        "decision in minutes.",
        ("i need to borrow money for a car", "apply for credit"),
    ),
    (
        "What exchange rate do you use?",
        "We use the card network's rate of the day with no markup on weekdays; at weekends we "
        "add 0.5%.",
        ("how much will my dollars cost in pounds", "currency conversion rate"),
    ),
    (
        "How do I return an item?",
        "Return it within 30 days in its original packaging. Print the free label from your "
        "order page and drop the parcel at any post office.",
        ("the shoes don't fit, can i send them back", "i changed my mind about my purchase"),
    ),
    (
        "When will I get my refund?",
        "Refunds reach your original payment method within 5 to 7 working days after we receive "
        "the return.",
        ("i sent the parcel back but no money yet", "how long until i'm paid back"),
    ),
    (
        "How much does delivery cost?",
        "Delivery is free on orders over 40 pounds; below that it costs 3.95 pounds.",
        ("is shipping free", "what do you charge to post my order"),
    ),
    (
        "How long does delivery take?",
        "Standard delivery takes 3 to 5 working days; express arrives the next working day if "
        "you order before 14:00.",
        ("when will my order arrive", "how quickly do you ship"),
    ),
    (
        "Do you deliver abroad?",
        "We deliver to the EU, the United States and Canada. Customs duties may apply outside "
        "the EU.",
        ("can you send to france", "international shipping"),
    ),
    (
        "How do I track my order?",
        "Your dispatch e-mail holds a tracking link; the order page in your account shows it too.",
        ("where is my parcel", "my package hasn't come, where is it"),
    ),
    (
        "Can I change or cancel my order?",
        "You can change or cancel an order until it is dispatched, from the order page.",
        ("i ordered the wrong size", "stop my order before it ships"),
    ),
    (
        "Which payment methods do you accept?",
        "We accept debit and credit cards, PayPal, and paying in three instalments with Klarna.",
        ("can i pay with paypal", "do you take credit cards"),
    ),
    (
        "Do you have a size guide?",
        "Each product page has a size guide with measurements in centimetres and inches.",
        ("how do i know which size to pick", "what size am i"),
    ),
    (
        "How do I use a discount code?",
        "Enter the code in the Promo code box at checkout; one code per order.",
        ("where do i type my voucher", "my coupon isn't working"),
    ),
]

# Questions none of the entries answers: an assistant must not answer them with confidence.
OUT_OF_SCOPE: list[str] = [
    "Do you sell car insurance?",
    "what is the weather tomorrow",
    "can you recommend a good mortgage broker",
    "who won the football last night",
    "do you have a branch in tokyo",
    "how do i invest in bitcoin",
    "tell me a joke",
    "can i bring my dog into the branch",
    "do you offer student discounts",
    "what is the capital of spain",
    "is the store hiring",
    "how do i make a cake",
    "do you buy back used clothes",
    "what's your CEO's name",
    "can i pay my taxes through you",
    "do you do gift wrapping",
    "my neighbour is noisy",
    "how do i write a will",
    "is your app available on windows phone",
    "can i get travel insurance",
]
