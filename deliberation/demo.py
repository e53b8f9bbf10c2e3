"""The demo: the ten divisions, one login per role, a crowd, then each feature's demo data."""

from deliberation.accounts.categories import choose_category
from deliberation.accounts.models import Division, MemberCategory, Role
from deliberation.accounts.services import register_user
from deliberation.agendas.demo import seed_demo as seed_agendas
from deliberation.demo_context import DemoContext
from deliberation.evaluations.demo import seed_demo as seed_evaluations
from deliberation.extensions import db
from deliberation.mail.demo import seed_demo as seed_mail
from deliberation.proposals.demo import seed_demo as seed_proposals
from deliberation.roundtables.demo import seed_demo as seed_roundtables
from deliberation.summaries.demo import seed_demo as seed_summaries
from deliberation.voting.demo import seed_demo as seed_voting

#: The Seoul Welfare Governance-style divisions: (slug, English, Korean).
DIVISIONS = [
    ("elderly", "Elderly", "노인"),
    ("disability", "Disability", "장애인"),
    ("women", "Women", "여성"),
    ("children-youth", "Children and youth", "아동·청소년"),
    ("families", "Families", "가족"),
    ("mental-health", "Mental health", "정신보건"),
    ("rehabilitation", "Rehabilitation", "자활"),
    ("foreign-residents", "Foreign residents", "외국인 주민"),
    ("health", "Health", "보건"),
    ("welfare-workers", "Social welfare workers", "사회복지 종사자"),
]

DEMO_PASSWORD = "madang-demo-2026"  # noqa: S105 - published in the README for the demo only

#: handle: (display name, email, roles, category, divisions)
DEMO_USERS = {
    "admin": ("관리자 Admin", "admin@madang.example", (Role.ADMIN,), MemberCategory.CIVIL_SERVANT,
              ["welfare-workers"]),
    "lead": ("김진행 Lead facilitator", "lead@madang.example", (Role.FACILITATOR,),
             MemberCategory.WELFARE_ORGANISATION, ["elderly"]),
    "facilitator": ("이모더 Facilitator", "facilitator@madang.example", (Role.FACILITATOR,),
                    MemberCategory.WELFARE_ORGANISATION, ["disability"]),
    "official": ("박공무 Official", "official@madang.example", (Role.OFFICIAL,),
                 MemberCategory.CIVIL_SERVANT, ["elderly", "health"]),
    "field_office": ("한현장 Field office", "field@madang.example", (Role.FIELD_OFFICE,),
                     MemberCategory.CIVIL_SERVANT, ["welfare-workers"]),
    "citizen": ("최시민 Citizen", "citizen@madang.example", (), MemberCategory.CITIZEN,
                ["elderly", "families"]),
    "expert": ("정전문 Expert", "expert@madang.example", (), MemberCategory.EXPERT,
               ["mental-health"]),
}  # fmt: skip

CROWD_SIZE = 40
_CROWD_CATEGORIES = [
    MemberCategory.CITIZEN,
    MemberCategory.CITIZEN,
    MemberCategory.WELFARE_ORGANISATION,
    MemberCategory.EXPERT,
    MemberCategory.CIVIL_SERVANT,
]


def seed_demo() -> DemoContext:
    """Seed everything; the caller commits."""
    context = DemoContext()
    for slug, name_en, name_ko in DIVISIONS:
        division = Division(slug=slug, name_en=name_en, name_ko=name_ko)
        db.session.add(division)
        context.divisions[slug] = division
    db.session.flush()
    for handle, (name, email, roles, category, divisions) in DEMO_USERS.items():
        user = register_user(
            display_name=name,
            email=email,
            password=DEMO_PASSWORD,
            roles=roles,
            member_category=category,
            preferred_language="ko",
        )
        user.divisions = [context.divisions[slug] for slug in divisions]
        context.users[handle] = user
    slugs = [slug for slug, _, _ in DIVISIONS]
    for index in range(CROWD_SIZE):
        user = register_user(
            display_name=f"시민 {index + 1:02d}",
            email=f"crowd{index + 1:02d}@madang.example",
            password=DEMO_PASSWORD,
            member_category=_CROWD_CATEGORIES[index % len(_CROWD_CATEGORIES)],
            preferred_language="ko" if index % 3 else "en",
        )
        user.divisions = [context.divisions[slugs[index % len(slugs)]]]
        context.crowd.append(user)
    db.session.flush()
    # Two citizens asked to count as something else; they wait at /admin/category-requests.
    for index, category in ((0, MemberCategory.EXPERT), (5, MemberCategory.CIVIL_SERVANT)):
        choose_category(context.crowd[index], category)
    for seed_feature in (
        seed_mail,
        seed_agendas,
        seed_voting,
        seed_proposals,
        seed_roundtables,
        seed_summaries,
        seed_evaluations,
    ):
        seed_feature(context)
        db.session.flush()
    return context
