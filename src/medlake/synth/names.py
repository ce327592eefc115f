"""Personal names, nicknames and the one-character typos that registration clerks make.

Record linkage is only tested honestly when names collide (common family names), when the same
person is filed under a nickname, and when a record carries a small spelling error; these lists
are sized so that all three happen at realistic rates in a region of a few thousand people.
"""

from __future__ import annotations

import random

# fmt: off
MALE_GIVEN: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward", "Jason", "Jeffrey", "Ryan",
    "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
    "Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
    "Tyler", "Aaron", "Jose", "Adam", "Nathan", "Henry", "Douglas", "Zachary", "Peter", "Kyle",
    "Walter", "Ethan", "Jeremy", "Harold", "Keith", "Christian", "Roger", "Noah", "Gerald", "Carl",
    "Terry", "Sean", "Austin", "Arthur", "Lawrence", "Jesse", "Dylan", "Bryan", "Joe", "Jordan",
    "Billy", "Bruce", "Albert", "Willie", "Gabriel", "Logan", "Alan", "Juan", "Wayne", "Roy",
    "Ralph", "Randy", "Eugene", "Vincent", "Russell", "Elijah", "Louis", "Bobby", "Philip", "Johnny",
    "Oliver", "Liam", "Lucas", "Mateo", "Leo", "Hugo", "Felix", "Oscar", "Theodore", "Sebastian",
    "Isaac", "Max", "Jonas", "Emil", "Victor", "Anton", "Karl", "Stefan", "Marco", "Luca",
)

FEMALE_GIVEN: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
    "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
    "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
    "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet", "Catherine", "Maria",
    "Heather", "Diane", "Ruth", "Julie", "Olivia", "Joyce", "Virginia", "Victoria", "Kelly", "Lauren",
    "Christina", "Joan", "Evelyn", "Judith", "Megan", "Andrea", "Cheryl", "Hannah", "Jacqueline", "Martha",
    "Gloria", "Teresa", "Ann", "Sara", "Madison", "Frances", "Kathryn", "Janice", "Jean", "Abigail",
    "Alice", "Judy", "Sophia", "Grace", "Denise", "Amber", "Doris", "Marilyn", "Danielle", "Beverly",
    "Isabella", "Theresa", "Diana", "Natalie", "Brittany", "Charlotte", "Marie", "Kayla", "Alexis", "Lori",
    "Amelia", "Mia", "Ella", "Chloe", "Lena", "Clara", "Ida", "Frieda", "Sofia", "Elena",
    "Ingrid", "Astrid", "Greta", "Nora", "Julia", "Lucia", "Eva", "Paula", "Rosa", "Irene",
)

FAMILY: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
    "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
    "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
    "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton",
    "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera",
    "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall",
    "Owens", "Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas",
    "Henry", "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson",
    "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz",
    "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone",
    "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson",
    "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley",
    "Spencer", "Hawkins", "Arnold", "Pierce", "Vazquez", "Hansen", "Peters", "Santos", "Hart", "Bradley",
    "Knight", "Elliott", "Cunningham", "Duncan", "Armstrong", "Hudson", "Carroll", "Lane", "Riley", "Andrews",
    "Berg", "Lindqvist", "Novak", "Kowalski", "Muller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Dubois", "Laurent", "Lefebvre", "Moreau", "Janssen",
    "De Vries", "Van Dijk", "O'Brien", "O'Connor", "McCarthy", "Byrne", "Walsh", "Nowak", "Horvat", "Popescu",
)

#: Formal given name -> the nicknames people register under instead.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rick", "Dick", "Rich"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Michael": ("Mike", "Mikey"),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Donald": ("Don",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Kenneth": ("Ken", "Kenny"),
    "Timothy": ("Tim",),
    "Ronald": ("Ron", "Ronnie"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Jeffrey": ("Jeff",),
    "Nicholas": ("Nick",),
    "Jonathan": ("Jon",),
    "Lawrence": ("Larry",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Gregory": ("Greg",),
    "Alexander": ("Alex",),
    "Patrick": ("Pat",),
    "Raymond": ("Ray",),
    "Zachary": ("Zach",),
    "Henry": ("Harry", "Hank"),
    "Douglas": ("Doug",),
    "Gerald": ("Gerry",),
    "Theodore": ("Ted", "Theo"),
    "Frederick": ("Fred",),
    "Philip": ("Phil",),
    "Eugene": ("Gene",),
    "Vincent": ("Vince",),
    "Mary": ("Molly", "Polly"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Jennifer": ("Jen", "Jenny"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza"),
    "Barbara": ("Barb",),
    "Susan": ("Sue", "Suzy"),
    "Jessica": ("Jess",),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Kimberly": ("Kim",),
    "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky",),
    "Cynthia": ("Cindy",),
    "Kathleen": ("Kathy", "Kate"),
    "Katherine": ("Kate", "Katie", "Kathy"),
    "Catherine": ("Cathy", "Kate"),
    "Christine": ("Chris", "Tina"),
    "Christina": ("Tina",),
    "Samantha": ("Sam",),
    "Victoria": ("Vicky", "Tori"),
    "Jacqueline": ("Jackie",),
    "Abigail": ("Abby",),
    "Judith": ("Judy",),
    "Theresa": ("Terry", "Tess"),
    "Teresa": ("Terry",),
    "Dorothy": ("Dot", "Dottie"),
    "Pamela": ("Pam",),
    "Alexandra": ("Alex", "Sandra"),
    "Isabella": ("Bella", "Izzy"),
    "Frances": ("Fran",),
    "Virginia": ("Ginny",),
    "Beverly": ("Bev",),
    "Danielle": ("Dani",),
    "Sophia": ("Sophie",),
    "Amanda": ("Mandy",),
    "Melissa": ("Missy", "Mel"),
    "Stephanie": ("Steph",),
    "Natalie": ("Nat",),
}

# Letters whose keys neighbour each other on a QWERTY keyboard: substitutions clerks actually make.
_KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}
# fmt: on


def one_typo(rng: random.Random, text: str) -> str:
    """Return ``text`` with exactly one character-level edit (Damerau-Levenshtein distance 1).

    The first letter is left alone more often than not because clerks read it back; real
    registration errors cluster in the middle and end of a name.
    """
    if len(text) < 2:
        return text + rng.choice("aeiou")
    for _ in range(8):
        position = rng.randrange(1, len(text)) if rng.random() < 0.85 else 0
        kind = rng.random()
        char = text[position]
        if kind < 0.35:  # substitution by a neighbouring key
            neighbours = _KEYBOARD_NEIGHBOURS.get(char.lower())
            if not neighbours:
                continue
            replacement = rng.choice(neighbours)
            if char.isupper():
                replacement = replacement.upper()
            candidate = text[:position] + replacement + text[position + 1 :]
        elif kind < 0.6:  # deletion
            candidate = text[:position] + text[position + 1 :]
        elif kind < 0.8:  # transposition with the next character
            if position >= len(text) - 1:
                continue
            candidate = text[:position] + text[position + 1] + char + text[position + 2 :]
        else:  # doubled letter
            candidate = text[:position] + char + text[position:]
        if candidate != text and candidate.strip():
            return candidate
    return text + text[-1]
