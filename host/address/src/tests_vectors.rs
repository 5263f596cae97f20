//! Published test vectors: Bitcoin Core key_io (mainnet addresses) and the
//! XRP address codec.
//!
//! The vectors are copied verbatim into this file (nothing is read at test
//! time). Sources:
//!
//! * Bitcoin Core `src/test/data/key_io_valid.json` (repository
//!   `bitcoin/bitcoin`, the stored version at commit
//!   `1010c48a89a8316298edeee28ffb5aef89bdf667`: chains main, testnet4,
//!   signet, regtest), all 70 entries in file order.
//! * Bitcoin Core `src/test/data/key_io_invalid.json`, two versions stored for
//!   `bitcoin/bitcoin`: commit `03d816b7cf161cc84914e07ee4c3fc8041a68a88`
//!   (the testnet4-era file, which also carries BIP-352 silent-payment
//!   strings) and commit `b31ab6dfeb41d9d9b0abb70fab14b2367af563c8` (an
//!   earlier, BIP-173-era file), all entries of both in file order.
//! * ripple-address-codec (repository `XRPLF/xrpl.js`,
//!   `packages/ripple-address-codec/test/index.test.ts` and
//!   `test/xrp-codec.test.ts`): the X-address table (classic address, tag,
//!   mainnet X-address, testnet X-address), the account id vector, the
//!   `isValidClassicAddress` cases and the invalid X-addresses.
//! * xrpl.org "Addresses" page (special addresses ACCOUNT_ZERO, ACCOUNT_ONE
//!   and the genesis account), the genesis account id as serialised after
//!   the `8114` field header of published transaction blobs whose `Account`
//!   is `rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh`.

use bech32::primitives::decode::SegwitHrpstring;

use super::*;

// ------------------------------------------------------------ Bitcoin Core

/// `chain` field of key_io_valid.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    Main,
    Testnet4,
    Signet,
    Regtest,
}

/// One key_io_valid.json entry: the string, the expected scriptPubKey (or
/// private key) hex, `chain`, `isPrivkey`, `tryCaseFlip`.
struct Valid {
    text: &'static str,
    hex: &'static str,
    net: Net,
    privkey: bool,
    case_flip: bool,
}

const fn addr(text: &'static str, hex: &'static str, net: Net) -> Valid {
    Valid {
        text,
        hex,
        net,
        privkey: false,
        case_flip: false,
    }
}

const fn segwit(text: &'static str, hex: &'static str, net: Net) -> Valid {
    Valid {
        text,
        hex,
        net,
        privkey: false,
        case_flip: true,
    }
}

const fn privkey(text: &'static str, hex: &'static str, net: Net) -> Valid {
    Valid {
        text,
        hex,
        net,
        privkey: true,
        case_flip: false,
    }
}

use Net::{Main, Regtest, Signet, Testnet4};

/// Bitcoin Core `src/test/data/key_io_valid.json`, every entry in file order.
const KEY_IO_VALID: &[Valid] = &[
    addr(
        "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo",
        "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac",
        Main,
    ),
    addr(
        "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm",
        "a914373b819a068f32b7a6b38b6b38729647cfde01c287",
        Main,
    ),
    addr(
        "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ",
        "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac",
        Testnet4,
    ),
    addr(
        "2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK",
        "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187",
        Testnet4,
    ),
    addr(
        "mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg",
        "76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac",
        Signet,
    ),
    addr(
        "2N1r7aC69VHeE7yQJPDLi9T1PYq4wnwvjuT",
        "a9145e5a35ab44b3efaea5129ba22b88ba3e2976614587",
        Signet,
    ),
    addr(
        "n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ",
        "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac",
        Regtest,
    ),
    addr(
        "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA",
        "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87",
        Regtest,
    ),
    privkey(
        "5JuW2AMDYu4xVwRG9DZW18VbzQrGcd5RCgb99sS6ehJsNQXu5b9",
        "8f8943bf956de595665c38ffff23827e17c10cdc1c27a028caae6c9810626198",
        Main,
    ),
    privkey(
        "L5nJeqKmpHp4P7F8ZYyjwc5a7P4d8EabuGAzfGJk7yC1BJyzNaEd",
        "ff778740f88ddcf102aeb81daee289c044c4a4571c4b6f287400f4b8e0b843f8",
        Main,
    ),
    privkey(
        "92ZdE5HoLafywnTBbzPxbvRmp75pSfzvdU3XaZGh1cToipgdHVh",
        "80c32d81e91bdea04cd7a3819b32275fc3298af4c7ec87eb0099527d041ced5c",
        Testnet4,
    ),
    privkey(
        "cV83kKisF3RQSvXbUCm9ox3kaz5JjEUBWcx8tNydfGJcyeUxuH47",
        "e0fcd4ce4e3d0e3de091f21415bb7cd011fac288c42020a879f28c2a4387df9b",
        Testnet4,
    ),
    privkey(
        "92QuSnywrhsV7WPZChTgSQA23uSmj9MCEEno1eRBDG9sg8M29cX",
        "6cf636ed8ac1bab033b64f66feaba65f70e684731e3f39105605968d3a963801",
        Signet,
    ),
    privkey(
        "cND53Dhp8eCZqG2ghe8YhSCGesXZ8fE5PGD1khrqNvEi4RBoXhEK",
        "12b5a10f3a11e708dc5412833c47ab7c368a21b9efe19293793ec879ce683018",
        Signet,
    ),
    privkey(
        "91mn1wYKEB1zyof1VFm8tMtocZx1oBrKKRCu9GCpgZvPmBLEJjp",
        "18a86e5a6c6977ddba0daca7fba5190f67ba56ccdc1b3f31308972236c2e4776",
        Regtest,
    ),
    privkey(
        "cPisAUdLvqqAr6MYtXnrWvgvyUAwuNyuTvZkDGw6miPhZdaiSDNH",
        "3fdfec1371cedcdb8c190ca6ff8ad603f817edc0d93c2a687c7b36dd66e70f2a",
        Regtest,
    ),
    segwit(
        "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv",
        "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c",
        Main,
    ),
    segwit(
        "bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7",
        "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc",
        Main,
    ),
    segwit(
        "bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu",
        "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75",
        Main,
    ),
    segwit("bc1z2rksukkjr8", "520250ed", Main),
    segwit(
        "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54",
        "0014c0ef1202759fff90ff19128936814321ee59e111",
        Testnet4,
    ),
    segwit(
        "tb1quyl9ujpgwr2chdzdnnalen48sup245vdfnh2jxhsuq3yx80rrwlq5hqfe4",
        "0020e13e5e482870d58bb44d9cfbfccea78702aad18d4ceea91af0e022431de31bbe",
        Testnet4,
    ),
    segwit(
        "tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz",
        "51208d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa",
        Testnet4,
    ),
    segwit(
        "tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa",
        "53104329bd718db46d8f021c13f1e2b0e726",
        Testnet4,
    ),
    segwit(
        "tb1q3vya2h5435jkugq2few7dmktlrwq4ejmfaw7kr",
        "00148b09d55e958d256e200a4e5de6eecbf8dc0ae65b",
        Signet,
    ),
    segwit(
        "tb1qxkhrl2s6ttrclckldruea0e8anhrehffl8xv7t0pdyrzm08v2hyqy408nf",
        "002035ae3faa1a5ac78fe2df68f99ebf27ecee3cdd29f9cccf2de169062dbcec55c8",
        Signet,
    ),
    segwit(
        "tb1pae5um27ahn8n73pgexe3kcwlp8dhswpn684h2k2w6t9a7w3eq65qephd5y",
        "5120ee69cdabddbccf3f4428c9b31b61df09db783833d1eb75594ed2cbdf3a3906a8",
        Signet,
    ),
    segwit(
        "tb1rx9n9g37az8mu236e5jpxdt0m67y4fuq8rhs0ss3djnm0kscfrwvq0ntlyg",
        "532031665447dd11f7c54759a48266adfbd78954f0071de0f8422d94f6fb43091b98",
        Signet,
    ),
    segwit(
        "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9",
        "00146f58bac9506f9bfb821d62e69330410bb56f0085",
        Regtest,
    ),
    segwit(
        "bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv",
        "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2",
        Regtest,
    ),
    segwit(
        "bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh",
        "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac",
        Regtest,
    ),
    segwit(
        "bcrt1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf8g6hzx94420",
        "6028368279cbe6f5cbbc2ba8154883a9a29e5517d1f3c03cac4f39ce3225060b3efb799cd9c412746ae2",
        Regtest,
    ),
    addr(
        "1FjL87pn8ky6Vbavd1ZHeChRXtoxwRGCRd",
        "76a914a19331b7b2627e663e25a7b001e4c0dcc5e21bc788ac",
        Main,
    ),
    addr(
        "3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf",
        "a9146c382dcdf5b284760c8e3fead91f7422cd76aa8787",
        Main,
    ),
    addr(
        "n4YNbYuFdPwFrxSP8sjHFbAhUbLMUiY9jE",
        "76a914fc8f9851f3c1e4719cd0b8e4816dd4e88c72e52888ac",
        Testnet4,
    ),
    addr(
        "2NAeQVZayzVFAtgeC3iYJsjpjWDmsDph71A",
        "a914bedc797342c03fd7a346c4c7857ca03d467013b687",
        Testnet4,
    ),
    addr(
        "mnCBpkNMJEJLehgdEkzSo2eioniyJMxLpZ",
        "76a914493c455551e48a1423263b62b127b436106a685488ac",
        Signet,
    ),
    addr(
        "2N5sNHomeNJDZv67AcFx9ES7FBZY4jx9KDA",
        "a9148a776a0f34d56b63e7c595f2b205dbe1c393617a87",
        Signet,
    ),
    addr(
        "mfhE6jAUwjUDNZhaX1PAsDTKfneQF2Nshc",
        "76a91401f15a4cc063dae4f4d56b89bfbc8bcc9ae5387c88ac",
        Regtest,
    ),
    addr(
        "2MxNm1VHyVU4RuP3u1c1v5aQLk2dQjwy1Qk",
        "a91438456f7c076356abadcc67b92ad777eb20fb9f8887",
        Regtest,
    ),
    privkey(
        "5HsL2nZuEebU5nM3RxNVQD9GcAnvNMahqQskf4fkqHe54zwd14e",
        "06e8649790a90615a46d22dd762e0c42615336745356c2e16147c0f3d46b40d5",
        Main,
    ),
    privkey(
        "KwuVvu6hsuEMHrfFWJQV64tRrWX3QzqHH18JuAHYqYV6dqBvNKxd",
        "147804bf8a0dfff35939a611c7f5a60ac107f33f33d6059f273d2079ab1d90f2",
        Main,
    ),
    privkey(
        "921M1RNxghFcsVGqAJksQVbSgx36Yz4u6vebfz1wDujNvgNt93B",
        "3777b341c45e2a9b9bf6bfb71dc7d129f64f1b9406ed4f93ade8f56065f1b732",
        Testnet4,
    ),
    privkey(
        "cNEnbfF2fcxmmCLWqMAaq6fxJvVkwMbyU3kCbpQznz4Z1j6TZDGb",
        "1397b0d4a03e1ab2c54dd9af99ce1ecbfb90c80a58886da95e1181a55703d96b",
        Testnet4,
    ),
    privkey(
        "93BcpCMKPmFCuY8bqS4k3HFrhJ1Afxi4uSsEeJFvX86GYW7PC7W",
        "d27d1b6ef55ca2e4d475b5276f2dbb85f7a6459dceeb89c67b776fd3bb974452",
        Signet,
    ),
    privkey(
        "cUtwbyxoL1owPxUafgH2meEpydeywjhnTYv2mJaFHHchz39AaEgy",
        "da3ed4ef1647e1733ec076919cab6156077ed9532e7c365acc425747e198b3e1",
        Signet,
    ),
    privkey(
        "927zPWny2SiNaUmHF5NnGQXQWDwbByfFzXGgu88j91ZoutSosvE",
        "468e0284f230153db8687d8ec23db079a5b67d72ca04174b3867b13e4ea9945e",
        Regtest,
    ),
    privkey(
        "cRez45VGSp5EXNqm89K3NJJPSKKapJg5Kbw3atxr2337x2gtgYed",
        "798d87586cffbe8c545ab374454e403b1eb831501ebe89f3c3b02f3137bd7b46",
        Regtest,
    ),
    segwit(
        "bc1qhxt04s5xnpy0kxw4x99n5hpdf5pmtzpqs52es2",
        "0014b996fac2869848fb19d5314b3a5c2d4d03b58820",
        Main,
    ),
    segwit(
        "bc1qgc9ljrvdf2e0zg9rmmq86xklqwfys7r6wptjlacdgrcdc7sa6ggqu4rrxf",
        "0020460bf90d8d4ab2f120a3dec07d1adf039248787a70572ff70d40f0dc7a1dd210",
        Main,
    ),
    segwit(
        "bc1pve739yap4uxjvfk0jrey69078u0gasm2nwvv483ec6zkzulgw9xqu4w9fd",
        "5120667d1293a1af0d2626cf90f24d15fe3f1e8ec36a9b98ca9e39c6856173e8714c",
        Main,
    ),
    segwit("bc1zmjtqxkzs89", "5202dc96", Main),
    segwit(
        "tb1ql4k5ayv7p7w0t0ge7tpntgpkgw53g2payxkszr",
        "0014fd6d4e919e0f9cf5bd19f2c335a03643a914283d",
        Testnet4,
    ),
    segwit(
        "tb1q9jx3x2qqdpempxrcfgyrkjd5fzeacaqj4ua7cs7fe2sfd2wdaueq5wn26y",
        "00202c8d1328006873b098784a083b49b448b3dc7412af3bec43c9caa096a9cdef32",
        Testnet4,
    ),
    segwit(
        "tb1pdswckwd9ym5yf5eyzg8j4jjwnzla8y0tf9cp7aasfkek0u29sz9qfr00yf",
        "51206c1d8b39a526e844d324120f2aca4e98bfd391eb49701f77b04db367f145808a",
        Testnet4,
    ),
    segwit(
        "tb1r0ecpfxg2udhtc556gqrpwwhk4sw3f0kc",
        "53107e7014990ae36ebc529a4006173af6ac",
        Testnet4,
    ),
    segwit(
        "tb1q6mwf89hnqhlu8txjgjfs4s7p93ugffn3k062ll",
        "0014d6dc9396f305ffc3acd244930ac3c12c7884a671",
        Signet,
    ),
    segwit(
        "tb1qafrjalu4d73dql0czau9j6z422434kef235mzljf48ckd5xz3sys09jm97",
        "0020ea472eff956fa2d07df8177859685552ab1adb295469b17e49a9f166d0c28c09",
        Signet,
    ),
    segwit(
        "tb1pwst9qszjrhuv2e7as0flcq9gm698v6gdxzz9e87p07s8rssdx3zqklm3vf",
        "512074165040521df8c567dd83d3fc00a8de8a76690d30845c9fc17fa071c20d3444",
        Signet,
    ),
    segwit(
        "tb1r3ss76jtsuxe8c8c8lxsehnpak55ylrgr345pww076l536ahjr6jsydamx3",
        "53208c21ed4970e1b27c1f07f9a19bcc3db5284f8d038d681739fed7e91d76f21ea5",
        Signet,
    ),
    segwit(
        "bcrt1q65nhlm4hf2ptg3t264al57p7wjxj2c3s6kyt83",
        "0014d5277feeb74a82b4456ad57bfa783e748d256230",
        Regtest,
    ),
    segwit(
        "bcrt1qawvc90lpytw3z3k9etdx54l0exq5f5sqfzu5e45kjnl6slwayeeqx2dyac",
        "0020eb9982bfe122dd1146c5cada6a57efc98144d20048b94cd69694ffa87ddd2672",
        Regtest,
    ),
    segwit(
        "bcrt1p39a4s4vdcw9kqa8w2t0rp7aj8kfxyw7mce5sk5d70x6wnnmpvt7skf2kxy",
        "5120897b58558dc38b6074ee52de30fbb23d92623bdbc6690b51be79b4e9cf6162fd",
        Regtest,
    ),
    segwit(
        "bcrt1s489d9fhmyel0vzfqsrmew4x7r80asuqesm5hgqacy35daflcyufh3j8cgdtflvt99ph05m",
        "6028a9cad2a6fb267ef6092080f79754de19dfd8701986e97403b82468dea7f8271378c8f843569fb165",
        Regtest,
    ),
    addr(
        "1G9A9j6W8TLuh6dEeVwWeyibK1Uc5MfVFV",
        "76a914a614da54daacdb8861f451a0b7e3c27cdf8a099e88ac",
        Main,
    ),
    addr(
        "33GA3ZXbw5o5HeUrBEaqkWXFYYZmdxGRRP",
        "a914113ca1afeb49ff3abf176ffa19c2a2b4df19712a87",
        Main,
    ),
    addr(
        "mwgS2HRbjyfYxFnR1nF9VKLvmdgMfFBmGq",
        "76a914b14ce7070b53cb0e4b5b5f6e253e876990aeca2e88ac",
        Testnet4,
    ),
    addr(
        "2MwBVrJQ76BdaGD76CTmou8cZzQYLpe4NqU",
        "a9142b2c149cde619eae3d7fe995243b76a3417541aa87",
        Testnet4,
    ),
    addr(
        "mfnJ8tEkqKNFE5YaHTXFxyHk2mnDK2fvDh",
        "76a91402e6cd77e649ad8b281271f158fc964ca3f66cb088ac",
        Signet,
    ),
    addr(
        "2My83D67ir7K8PPzeT6mE2oth3ZwNTVRS9F",
        "a9144074d84d32ff62da7b1b3c61925b934bfeb34b0587",
        Signet,
    ),
];

/// Bitcoin Core `src/test/data/key_io_invalid.json` at commit
/// `03d816b7cf161cc84914e07ee4c3fc8041a68a88`, every entry in file order.
const KEY_IO_INVALID: &[&str] = &[
    "",
    "x",
    "1GAdfviErV2Ew95FPtZyikz2qGP3gyCB6Hyu94sedAkPpA523m3fQwps9YKUZkKgQckGPKhRsFR",
    "37G2kMDLpmWVhimxRdzwNfE8JFvWXnJYnVcXeeGrek2qumdJuK7XArcVVpRtLLjRra3t64BEPF2",
    "giymtio7u7oqWtmC9YnvAEKkLF3JQpAdkEFkVJKYrVDfaLbhaDpX1ihfF2vZmya1i61fwLPC3YQ",
    "8iVk9nLM3nYwRuwypjy9NK5rsuZH7BbrQRZ1pgcQmvMnjAgRXD",
    "cPTVQ1hbo4qdoysf6Jx5GthqucNmdfqt6J2pZRFeXv8Ep7Kmjqud",
    "cQbR2Ny85XFBzUMx3Ed6HsTLw2pVruSgPvt5AofnBUnhiv86gYeW",
    "2UB3iG3VJbX2TRrMwm6ssWskgvU9VjFBYSqCzwqkrihCwo7mg4mtS4WuGZgxTKuxf5A3EcotYEymz",
    "cQe12pqwPR6ExtZKfrKf1q4b3CTh1Qi7MwuvMvzs79nWXDvESfBJ",
    "tc1qeul5g2xfkvdkrhcfmdursv73ad64jnkjl9c40f",
    "bt1pq65rzej5glw3ra79gav6fqnx4haa0z257qr3mc8cggkefahmgvyseufhc0",
    "tb13hty4qmumlwpp6chxjvcyzza4duqgtmxw3xhm3u9ahj4nyhtwz8eq7ynrj4",
    "bcrt1r2qxpwuge",
    "bc10uexgzna2dpfk0vjt35srz6a27ps6m0l89jweznt83n2sqn2fx4hvn9ym5af8wut34sfrqhk3",
    "tb1qum6uh0pt4q253qaf520929737v63w5gf",
    "bcrt1q888ryfgxpvl0k7vum8zpyar2u2sexvdhkf38ue37yknmqq0ycrwpl3w48y",
    "bc1qdsuzmn04k2z8vryw8l4dj8m5ygqgnne5n",
    "tb1qlj8es50nc8j8r8xshrjgzmw5azx89efghmw8ju6zcqla0g6xcnrstsjz7k",
    "bcrt1qzwmyj0z924g7fzs5yvnrkc43y76RVyr2lh5t4r",
    "bc1qpu6d26mrulzetu4jqhd7rsunv9aqru26f5c4j8",
    "tb1qun6d26ufh77ghny6u5u8cwz9da7qwc6k4wkuceae9tth06eqlw0syupl4w",
    "bcrt1qj7g2jps453kj9htk9cxyyc2nxe69x4kzzmth7v",
    "bc1p702xksx4z3uqf0u2phllxkfe5cgu0adxptqs0uelx0tqt8e885sqryes2l",
    "tb1z7gmh0v6pc30z4xum76lmw8w86yswrlmw",
    "bcrt1sjsrw6nun4h502cr97xmnyyuhkr22q0s6efrgtu",
    "2UVPFpGYnLHJezFzjUo42our6PMEoozzRdM",
    "2MygHQjE1U33q3LSC53p69YqFjP8PihumJAF",
    "KzNbAQ4mexfAxa6RKBzHQqfoTycaeWpv2p",
    "2jDPrDfAKihCGPbPD9ztY8TswAia4V8Bc6vx",
    "4VQUNG1hG64QFtaNyQZQWDdwpxB275Pwb3tvyPt2HDxB8Mi2MgH8Tz3AC83YYiz9LydsLNXEZJLHY",
    "39TKsUQ5QpEL1wowc6GMUqak94ijirPuP69ooV3xsFmiKQX2dau",
    "2UEJjT3dSdwc8dAo7oedPzznXceXCEsBbDfAvSymqpqDrkZMv7JBEUpLyhkghioYAWC9W4sKysry",
    "7VmMEkphxCFSV1y659Th4dkk6x6bJS5eQvbt8rzUYKQyd6ACgwQ4vXHtXKFUwP2kW3XULipnHJdZ7",
    "tc1qdlapns4zkn03juf2k9xwwpct209suj6mgcd9gh",
    "bt1psa5eptk29c4jc9yumeseat3a0l5e2fpmw635za2p4gpwdnthueysxga9je",
    "tb13w8c43lykfj3lvm9sgp6dsnfjla3d57cm83seykunf0ltxjc9lt2q4efm4d",
    "bcrt1rjqr2tdkm",
    "bc10lyxwnxa70l270e6fcmxr4x7dtgu2yvy7gzkurwxy4zhdvgaqrrn6pfg2flyhqzy5t5se8yu3",
    "TB1QFDFM763VXVSUNZHQLPWC0Q8FG5LJX6ZN",
    "bcrt1q60chha7wfwlau4kdr4mlvyeyc8mnnh9dhxk05e0hmrxcuhghefj36uwyha",
    "bc1gmk9yu",
    "tb1ly0q7p",
    "bcrt1qdwttaw38uf42wxw40kwk3u8nguyTQH3hx6jmqp",
    "bc1qtsvlht6730n04f2mpaj5vv8hrledn5n5ug8c79",
    "tb1dclvmr",
    "bcrt1q3fqvctqu48wsvggrt09vj0yk2gzzcscdp4h98u",
    "bc1prklpq7tjcawg89cmwwqr3u5apwav36xa4zz56ady7crsllm6mpnqts7p86",
    "tb1zkm58zyhxz3ffkfgsyprflg543slsl4c4",
    "bcrt1snzr5kaypnfhpnjanrhd20fhqcjxm3hfh7dw9fu",
    "2GgnYKqBGuA2Mm5GnrPsMTZR81xPhNtgMYoFUZngZGiobhCuUpCaTriUHRcgFreEekNdPAR17q8d",
    "AZEah8d1EK362okRBS66e8SvdtYkrE8tsX",
    "gep8xr77FyPW6zYP15RiV9W8nL6w2HyHB16cUDakfyDceMA6ZzUdhJjk2LPuLYHnLkBqkRTTi6z",
    "2NDNP7GY59tTJPZTpbkprhM9SR99Nn5rUs7",
    "2Csgzy2T287YAjeU5tFtt1nPshBZAUFQi4WtgaWyZGKSBNnKXHy2Tmxo8QK4Mfdds977ShcDWC5o",
    "Kwjk3Vy6sdXMQDGWJzaWmqFxUNtWZCX1q4F4Kpt8jNNUoWJUUaTY",
    "Svj8kk98bAS9V4L2crmxakbhmnPm3cJ1tJ4Je4yVzDreU8eSTFURS1SPYv5oWEQD8Q9VBDvx5uF",
    "KNYsv6v9GtkGeD4WdQnBEJCrPKQm91PTxAbCfXr66LEd4JDmhPWC",
    "2UJ2H2xvAeXmFKfQwMyDoSdQTTPFMNCT3SsoUafBWKzoGP3NsUK1buEgQZG38viyD53jgMdpqfT7",
    "6aLMfayKF4TW4ecn5SEc8FExpyJA2peKxYRGZhes6tQ4NTTzuGy",
    "7VP4FmcebU2thJns9MnXde7LWfuqR5vMizrAuUoq2GcJjzTyA4RHFcPVdZL8PLg1SbpSFdJrvLXoY5",
    "tc1q5qdvt99uc92jyz663dtdpfpv6nr67ahmgwcpq2",
    "bt1peu3ppd7x796sjjenp09r8cs22rhylqm9lhggk72qp8q22vzft0wq2a0x6j",
    "tb1323z3lnz7dl3kd0nsuh6xy4he9almzl67anxgg3xdzkaxc9rwntlqdhdzd7",
    "bcrt1r2gc42sky",
    "bc10fd889x4hd54tqu2ewg9t4hhft2wl7m6x50av4uswzw46xe6as0xmltfg7vrjfkvm459vld7w",
    "TB1QZY7V0F2AT3308YGGNGN66ULJTCN3RY6F",
    "bcrt1qjg3cwht92znyw0l4r5rtctmls337nrc7g0ry9drjxmlecjd3atl3fake7c",
    "bc1qmgf8xt8xkecl79k04mma3lz34gqep7hg4",
    "TB1Q3F9WGNXE9ZMTTMDN5VKVKHYZ8Y0LCV72YV7V5LSXTJXEYHNHEHASLYL0TZ",
    "spx1qq22l5s6l9460ww6t4tkzsy2a7zejurcmzz35pt0ffrzk5erlaykdcqugecjjnjqf7ggq39vl6wexjlm00n66z94v675n7wcux6d2krr68g37pn04",
    "sp1qq22l5s6l9460ww6t4tkzsy2a7zejurcmzz35pt0ffrzk5erlaykdcqugecjjnjqf7ggq39vl6wexjlm00n66z94v675n7wcux6d2krr68gcwu9kg",
    "sp1qqgqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2qugecjjnjqf7ggq39vl6wexjlm00n66z94v675n7wcux6d2krr68g25havg",
    "sp1qq22l5s6l9460ww6t4tkzsy2a7zejurcmzz35pt0ffrzk5erlaykdcqsqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq57qc9nf",
    "sp1lq22l5s6l9460ww6t4tkzsy2a7zejurcmzz35pt0ffrzk5erlaykdcqugecjjnjqf7ggq39vl6wexjlm00n66z94v675n7wcux6d2krr68gaafydt",
    "sp1qq22l5s6l9460ww6t4tkzsy2a7zejurcmzz35pt0ffrzk5erlaykdcznsxsn",
    "tsp1qqthpye3hdcnydp9temp7yduy6uw5h2nw8u9fz677ccrna280qwj3uq60zeqs3zfpj3age62h4ljq2lyawwdecmk8a545yysk4x3tu3skjqm2thum",
    "sp1qqgqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqf26rn7",
    "sprt1qqgqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2qu4kvg0nm62d5jtmqp54lkc7tul0dzt25ejtn4f80505z3u0h5jagf9zkp5",
];

/// Bitcoin Core `src/test/data/key_io_invalid.json` at commit
/// `b31ab6dfeb41d9d9b0abb70fab14b2367af563c8` (BIP-173 era), every entry in
/// file order.
const KEY_IO_INVALID_EARLIER: &[&str] = &[
    "",
    "x",
    "37qgekLpCCHrQuSjvX3fs496FWTGsHFHizjJAs6NPcR47aefnnCWECAhHV6E3g4YN7u7Yuwod5Y",
    "dzb7VV1Ui55BARxv7ATxAtCUeJsANKovDGWFVgpTbhq9gvPqP3yv",
    "MuNu7ZAEDFiHthiunm7dPjwKqrVNCM3mAz6rP9zFveQu14YA8CxExSJTHcVP9DErn6u84E6Ej7S",
    "rPpQpYknyNQ5AEHuY6H8ijJJrYc2nDKKk9jjmKEXsWzyAQcFGpDLU2Zvsmoi8JLR7hAwoy3RQWf",
    "4Uc3FmN6NQ6zLBK5QQBXRBUREaaHwCZYsGCueHauuDmJpZKn6jkEskMB2Zi2CNgtb5r6epWEFfUJq",
    "7aQgR5DFQ25vyXmqZAWmnVCjL3PkBcdVkBUpjrjMTcghHx3E8wb",
    "17QpPprjeg69fW1DV8DcYYCKvWjYhXvWkov6MJ1iTTvMFj6weAqW7wybZeH57WTNxXVCRH4veVs",
    "KxuACDviz8Xvpn1xAh9MfopySZNuyajYMZWz16Dv2mHHryznWUp3",
    "7nK3GSmqdXJQtdohvGfJ7KsSmn3TmGqExug49583bDAL91pVSGq5xS9SHoAYL3Wv3ijKTit65th",
    "cTivdBmq7bay3RFGEBBuNfMh2P1pDCgRYN2Wbxmgwr4ki3jNUL2va",
    "gjMV4vjNjyMrna4fsAr8bWxAbwtmMUBXJS3zL4NJt5qjozpbQLmAfK1uA3CquSqsZQMpoD1g2nk",
    "emXm1naBMoVzPjbk7xpeTVMFy4oDEe25UmoyGgKEB1gGWsK8kRGs",
    "7VThQnNRj1o3Zyvc7XHPRrjDf8j2oivPTeDXnRPYWeYGE4pXeRJDZgf28ppti5hsHWXS2GSobdqyo",
    "1G9u6oCVCPh2o8m3t55ACiYvG1y5BHewUkDSdiQarDcYXXhFHYdzMdYfUAhfxn5vNZBwpgUNpso",
    "31QQ7ZMLkScDiB4VyZjuptr7AEc9j1SjstF7pRoLhHTGkW4Q2y9XELobQmhhWxeRvqcukGd1XCq",
    "DHqKSnpxa8ZdQyH8keAhvLTrfkyBMQxqngcQA5N8LQ9KVt25kmGN",
    "2LUHcJPbwLCy9GLH1qXmfmAwvadWw4bp4PCpDfduLqV17s6iDcy1imUwhQJhAoNoN1XNmweiJP4i",
    "7USRzBXAnmck8fX9HmW7RAb4qt92VFX6soCnts9s74wxm4gguVhtG5of8fZGbNPJA83irHVY6bCos",
    "1DGezo7BfVebZxAbNT3XGujdeHyNNBF3vnficYoTSp4PfK2QaML9bHzAMxke3wdKdHYWmsMTJVu",
    "2D12DqDZKwCxxkzs1ZATJWvgJGhQ4cFi3WrizQ5zLAyhN5HxuAJ1yMYaJp8GuYsTLLxTAz6otCfb",
    "8AFJzuTujXjw1Z6M3fWhQ1ujDW7zsV4ePeVjVo7D1egERqSW9nZ",
    "163Q17qLbTCue8YY3AvjpUhotuaodLm2uqMhpYirsKjVqnxJRWTEoywMVY3NbBAHuhAJ2cF9GAZ",
    "2MnmgiRH4eGLyLc9eAqStzk7dFgBjFtUCtu",
    "461QQ2sYWxU7H2PV4oBwJGNch8XVTYYbZxU",
    "2UCtv53VttmQYkVU4VMtXB31REvQg4ABzs41AEKZ8UcB7DAfVzdkV9JDErwGwyj5AUHLkmgZeobs",
    "cSNjAsnhgtiFMi6MtfvgscMB2Cbhn2v1FUYfviJ1CdjfidvmeW6mn",
    "gmsow2Y6EWAFDFE1CE4Hd3Tpu2BvfmBfG1SXsuRARbnt1WjkZnFh1qGTiptWWbjsq2Q6qvpgJVj",
    "nksUKSkzS76v8EsSgozXGMoQFiCoCHzCVajFKAXqzK5on9ZJYVHMD5CKwgmX3S3c7M1U3xabUny",
    "L3favK1UzFGgdzYBF2oBT5tbayCo4vtVBLJhg2iYuMeePxWG8SQc",
    "7VxLxGGtYT6N99GdEfi6xz56xdQ8nP2dG1CavuXx7Rf2PrvNMTBNevjkfgs9JmkcGm6EXpj8ipyPZ",
    "2mbZwFXF6cxShaCo2czTRB62WTx9LxhTtpP",
    "dB7cwYdcPSgiyAwKWL3JwCVwSk6epU2txw",
    "HPhFUhUAh8ZQQisH8QQWafAxtQYju3SFTX",
    "4ctAH6AkHzq5ioiM1m9T3E2hiYEev5mTsB",
    "Hn1uFi4dNexWrqARpjMqgT6cX1UsNPuV3cHdGg9ExyXw8HTKadbktRDtdeVmY3M1BxJStiL4vjJ",
    "Sq3fDbvutABmnAHHExJDgPLQn44KnNC7UsXuT7KZecpaYDMU9Txs",
    "6TqWyrqdgUEYDQU1aChMuFMMEimHX44qHFzCUgGfqxGgZNMUVWJ",
    "giqJo7oWqFxNKWyrgcBxAVHXnjJ1t6cGoEffce5Y1y7u649Noj5wJ4mmiUAKEVVrYAGg2KPB3Y4",
    "cNzHY5e8vcmM3QVJUcjCyiKMYfeYvyueq5qCMV3kqcySoLyGLYUK",
    "37uTe568EYc9WLoHEd9jXEvUiWbq5LFLscNyqvAzLU5vBArUJA6eydkLmnMwJDjkL5kXc2VK7ig",
    "EsYbG4tWWWY45G31nox838qNdzksbPySWc",
    "nbuzhfwMoNzA3PaFnyLcRxE9bTJPDkjZ6Rf6Y6o2ckXZfzZzXBT",
    "cQN9PoxZeCWK1x56xnz6QYAsvR11XAce3Ehp3gMUdfSQ53Y2mPzx",
    "1Gm3N3rkef6iMbx4voBzaxtXcmmiMTqZPhcuAepRzYUJQW4qRpEnHvMojzof42hjFRf8PE2jPde",
    "2TAq2tuN6x6m233bpT7yqdYQPELdTDJn1eU",
    "ntEtnnGhqPii4joABvBtSEJG6BxjT2tUZqE8PcVYgk3RHpgxgHDCQxNbLJf7ardf1dDk2oCQ7Cf",
    "Ky1YjoZNgQ196HJV3HpdkecfhRBmRZdMJk89Hi5KGfpfPwS2bUbfd",
    "2A1q1YsMZowabbvta7kTy2Fd6qN4r5ZCeG3qLpvZBMzCixMUdkN2Y4dHB1wPsZAeVXUGD83MfRED",
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
    "bc1rw5uspcuh",
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
    "bc1gmk9yu",
];

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("vector hex {s}: {e}"))
}

/// The (kind, payload) a scriptPubKey pays to: P2PKH `76a914{20}88ac`, P2SH
/// `a914{20}87`, witness `OP_n <push of 2..=40 bytes>`.
fn destination(script: &[u8]) -> (Kind, &[u8]) {
    match script {
        [0x76, 0xa9, 0x14, hash @ .., 0x88, 0xac] if hash.len() == 20 => (Kind::P2pkh, hash),
        [0xa9, 0x14, hash @ .., 0x87] if hash.len() == 20 => (Kind::P2sh, hash),
        [op @ (0x00 | 0x51..=0x60), push, program @ ..]
            if usize::from(*push) == program.len() && (2..=40).contains(&program.len()) =>
        {
            let version = if *op == 0 { 0 } else { op - 0x50 };
            (Kind::Witness(version), program)
        }
        _ => panic!("unexpected scriptPubKey {}", hex::encode(script)),
    }
}

/// Swap the case of every ASCII letter (Core's `tryCaseFlip` transform).
fn flip_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn btc(s: &str) -> Result<Canonical, AddressError> {
    canonicalize("bitcoin", s)
}

#[test]
fn key_io_valid_table_shape() {
    // Guards against entries lost while copying: 70 entries, of which 14 are
    // mainnet addresses, 16 private keys and 40 other-network addresses.
    assert_eq!(KEY_IO_VALID.len(), 70);
    let main = KEY_IO_VALID
        .iter()
        .filter(|v| v.net == Main && !v.privkey)
        .count();
    let keys = KEY_IO_VALID.iter().filter(|v| v.privkey).count();
    assert_eq!((main, keys), (14, 16));
    // Bech32 entries (and only those) carry tryCaseFlip.
    for v in KEY_IO_VALID {
        let bech32 = ["bc1", "tb1", "bcrt1"]
            .iter()
            .any(|p| v.text.starts_with(p));
        assert_eq!(v.case_flip, bech32, "{}", v.text);
    }
}

#[test]
fn key_io_valid_mainnet_addresses_canonicalise_to_their_script() {
    let mut kinds = Vec::new();
    for v in KEY_IO_VALID.iter().filter(|v| v.net == Main && !v.privkey) {
        let script = unhex(v.hex);
        let (kind, payload) = destination(&script);
        kinds.push(kind);
        let c = btc(v.text).unwrap_or_else(|e| panic!("{} should be accepted: {e}", v.text));
        assert_eq!(c.family(), Family::Bitcoin, "{}", v.text);
        assert_eq!(c.kind(), kind, "{}", v.text);
        assert_eq!(c.payload(), payload, "{}", v.text);
        let mut key = vec![0x02, kind.byte()];
        key.extend_from_slice(payload);
        assert_eq!(c.key(), key.as_slice(), "{}", v.text);
        // The vectors are already canonical: base58 text as is, bech32 lowercase.
        assert_eq!(c.as_str(), v.text);
        // The canonical text and the key both give the same address back.
        let again = btc(c.as_str()).expect("canonical text re-canonicalises");
        assert_eq!(again.key(), c.key(), "{}", v.text);
        assert_eq!(Canonical::from_key(c.key()).as_ref(), Ok(&c), "{}", v.text);
        // Every chain alias and family inference agree.
        for chain in BITCOIN_CHAINS {
            assert_eq!(canonicalize(chain, v.text).as_ref(), Ok(&c), "{chain}");
        }
        assert_eq!(canonicalize_any(v.text).as_ref(), Ok(&c), "{}", v.text);
    }
    // Both base58 kinds and witness v0, v1 and v2 are covered.
    for kind in [
        Kind::P2pkh,
        Kind::P2sh,
        Kind::Witness(0),
        Kind::Witness(1),
        Kind::Witness(2),
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing");
    }
    assert_eq!(kinds.len(), 14);
}

#[test]
fn key_io_valid_case_flip() {
    // Core: the case-flipped string is valid exactly when tryCaseFlip is set
    // (bech32), and then it is the same destination.
    for v in KEY_IO_VALID.iter().filter(|v| v.net == Main && !v.privkey) {
        let flipped = flip_case(v.text);
        let c = btc(v.text).expect("valid vector");
        if v.case_flip {
            let upper = btc(&flipped).unwrap_or_else(|e| panic!("{flipped}: {e}"));
            assert_eq!(upper.key(), c.key(), "{flipped}");
            assert_eq!(upper.as_str(), v.text, "{flipped}");
            // Mixed case (only the first letter after the separator flipped)
            // is not bech32.
            let sep = v.text.rfind('1').expect("bech32 separator");
            let mut mixed = v.text.to_string();
            let i = (sep + 1..v.text.len())
                .find(|&i| v.text.as_bytes()[i].is_ascii_alphabetic())
                .expect("a letter in the data part");
            mixed.replace_range(i..=i, &v.text[i..=i].to_ascii_uppercase());
            assert_eq!(btc(&mixed), Err(AddressError::MixedCase), "{mixed}");
        } else {
            assert!(btc(&flipped).is_err(), "{flipped} must be refused");
        }
    }
}

#[test]
fn key_io_valid_other_networks_are_wrong_network() {
    let mut seen = 0;
    for v in KEY_IO_VALID.iter().filter(|v| v.net != Main && !v.privkey) {
        // The vector itself is well formed for its network...
        let script = unhex(v.hex);
        let (kind, payload) = destination(&script);
        if let Kind::Witness(version) = kind {
            let hrp = if v.net == Regtest { "bcrt" } else { "tb" };
            let s = SegwitHrpstring::new(v.text).expect("valid segwit on its network");
            assert_eq!(s.hrp().to_lowercase(), hrp, "{}", v.text);
            assert_eq!(s.witness_version().to_u8(), version, "{}", v.text);
            assert_eq!(s.byte_iter().collect::<Vec<_>>(), payload, "{}", v.text);
        } else {
            let data = bs58::decode(v.text)
                .with_check(None)
                .into_vec()
                .expect("valid base58check");
            let version = if kind == Kind::P2pkh { 0x6f } else { 0xc4 };
            assert_eq!(data.first(), Some(&version), "{}", v.text);
            assert_eq!(&data[1..], payload, "{}", v.text);
        }
        // ... and refused on bitcoin mainnet as another network.
        for text in [v.text.to_string(), flip_case(v.text)] {
            if text != v.text && !v.case_flip {
                continue;
            }
            match btc(&text) {
                Err(AddressError::WrongNetwork(_)) => {}
                other => panic!("{text}: expected WrongNetwork, got {other:?}"),
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 40);
}

#[test]
fn key_io_valid_private_keys_are_not_addresses() {
    for v in KEY_IO_VALID.iter().filter(|v| v.privkey) {
        // The WIF string is what the vector says: version 0x80 (mainnet) or
        // 0xef, the 32-byte key, and 0x01 when compressed.
        let data = bs58::decode(v.text)
            .with_check(None)
            .into_vec()
            .expect("valid WIF");
        let version = if v.net == Main { 0x80 } else { 0xef };
        assert_eq!(data.first(), Some(&version), "{}", v.text);
        assert_eq!(data[1..33], unhex(v.hex), "{}", v.text);
        assert!(
            data.len() == 33 || (data.len() == 34 && data[33] == 1),
            "{}",
            v.text
        );
        for chain in BITCOIN_CHAINS {
            assert!(
                canonicalize(chain, v.text).is_err(),
                "private key {} accepted as an address",
                v.text
            );
        }
        assert!(canonicalize_any(v.text).is_err(), "{}", v.text);
    }
}

#[test]
fn key_io_invalid_is_refused() {
    assert_eq!(KEY_IO_INVALID.len(), 79);
    assert_eq!(KEY_IO_INVALID_EARLIER.len(), 60);
    for s in KEY_IO_INVALID.iter().chain(KEY_IO_INVALID_EARLIER) {
        for chain in BITCOIN_CHAINS {
            if let Ok(c) = canonicalize(chain, s) {
                panic!("{s:?} is invalid for Bitcoin Core but accepted as {c:?}");
            }
        }
        // Nor is it taken for a bitcoin address by inference.
        if let Ok(c) = canonicalize_any(s) {
            assert_ne!(c.family(), Family::Bitcoin, "{s:?} inferred as {c:?}");
        }
    }
}

// --------------------------------------------------------------------- XRP

/// ripple-address-codec `test/index.test.ts`: classic address, tag (`None`
/// for `false`), mainnet X-address, testnet X-address.
const X_ADDRESSES: &[(&str, Option<u32>, &str, &str)] = &[
    (
        "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59",
        None,
        "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ",
        "T719a5UwUCnEs54UsxG9CJYYDhwmFCqkr7wxCcNcfZ6p5GZ",
    ),
    (
        "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59",
        Some(1),
        "X7AcgcsBL6XDcUb289X4mJ8djcdyKaGZMhc9YTE92ehJ2Fu",
        "T719a5UwUCnEs54UsxG9CJYYDhwmFCvbJNZbi37gBGkRkbE",
    ),
    (
        "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59",
        Some(14),
        "X7AcgcsBL6XDcUb289X4mJ8djcdyKaGo2K5VpXpmCqbV2gS",
        "T719a5UwUCnEs54UsxG9CJYYDhwmFCvqXVCALUGJGSbNV3x",
    ),
    (
        "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59",
        Some(11747),
        "X7AcgcsBL6XDcUb289X4mJ8djcdyKaLFuhLRuNXPrDeJd9A",
        "T719a5UwUCnEs54UsxG9CJYYDhwmFCziiNHtUukubF2Mg6t",
    ),
    (
        "rLczgQHxPhWtjkaQqn3Q6UM8AbRbbRvs5K",
        None,
        "XVZVpQj8YSVpNyiwXYSqvQoQqgBttTxAZwMcuJd4xteQHyt",
        "TVVrSWtmQQssgVcmoMBcFQZKKf56QscyWLKnUyiuZW8ALU4",
    ),
    (
        "rpZc4mVfWUif9CRoHRKKcmhu1nx2xktxBo",
        None,
        "X7YenJqxv3L66CwhBSfd3N8RzGXxYqPopMGMsCcpho79rex",
        "T77wVQzA8ntj9wvCTNiQpNYLT5hmhRsFyXDoMLqYC4BzQtV",
    ),
    (
        "rpZc4mVfWUif9CRoHRKKcmhu1nx2xktxBo",
        Some(58),
        "X7YenJqxv3L66CwhBSfd3N8RzGXxYqV56ZkTCa9UCzgaao1",
        "T77wVQzA8ntj9wvCTNiQpNYLT5hmhR9kej6uxm4jGcQD7rZ",
    ),
    (
        "rsA2LpzuawewSBQXkiju3YQTMzW13pAAdW",
        Some(23480),
        "X7d3eHCXzwBeWrZec1yT24iZerQjYL8m8zCJ16ACxu1BrBY",
        "T7YChPFWifjCAXLEtg5N74c7fSAYsvSokwcmBPBUZWhxH5P",
    ),
    (
        "rsA2LpzuawewSBQXkiju3YQTMzW13pAAdW",
        Some(11747),
        "X7d3eHCXzwBeWrZec1yT24iZerQjYLo2CJf8oVC5CMWey5m",
        "T7YChPFWifjCAXLEtg5N74c7fSAYsvTcc7nEfwuEEvn5Q4w",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        None,
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXb",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQn49b3qD26PK7FcGSKE",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(0),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV8AqEL4xcZj5whKbmc",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnSy8RHqGHoGJ59spi2",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(1),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV8xvjGQTYPiAx6gwDC",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnSz1uDimDdPYXzSpyw",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(2),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV8zpDURx7DzBCkrQE7",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnTryP9tG9TW8GeMBmd",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(32),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtVoYiC9UvKfjKar4LJe",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnT2oqaCDzMEuCDAj1j",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(276),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtVoKj3MnFGMXEFMnvJV",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnTMgJJYfAbsiPsc6Zg",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(65591),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtVozpjdhPQVdt3ghaWw",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQn7ryu2W6njw7mT1jmS",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(16781933),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtVqrDUk2vDpkTjPsY73",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnVsw45sDtGHhLi27Qa",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(4294967294),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV1kAsixQTdMjbWi39u",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnX8tDFQ53itLNqs6vU",
    ),
    (
        "rGWrZyQqhTp9Xu7G5Pkayo7bXjH4k4QYpf",
        Some(4294967295),
        "XVLhHMPHU98es4dbozjVtdWzVrDjtV18pX8yuPT7y4xaEHi",
        "TVE26TYGhfLC7tQDno7G8dGtxSkYQnXoy6kSDh6rZzApc69",
    ),
    (
        "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY",
        None,
        "XV5sbjUmgPpvXv4ixFWZ5ptAYZ6PD2gYsjNFQLKYW33DzBm",
        "TVd2rqMkYL2AyS97NdELcpeiprNBjwLZzuUG5rZnaewsahi",
    ),
    (
        "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY",
        Some(0),
        "XV5sbjUmgPpvXv4ixFWZ5ptAYZ6PD2m4Er6SnvjVLpMWPjR",
        "TVd2rqMkYL2AyS97NdELcpeiprNBjwRQUBetPbyrvXSTuxU",
    ),
    (
        "rPEPPER7kfTD9w2To4CQk6UCfuHM9c6GDY",
        Some(13371337),
        "XV5sbjUmgPpvXv4ixFWZ5ptAYZ6PD2qwGkhgc48zzcx6Gkr",
        "TVd2rqMkYL2AyS97NdELcpeiprNBjwVUDvp3vhpXbNhLwJi",
    ),
];

/// Classic address and 20-byte account id: ripple-address-codec's
/// `encodeAccountID`/`decodeAccountID` vector, and xrpl.org's special
/// addresses (ACCOUNT_ZERO, ACCOUNT_ONE, the genesis account).
const XRP_ACCOUNTS: &[(&str, &str)] = &[
    (
        "rJrRMgiRgrU6hDF4pgu5DXQdWyPbY35ErN",
        "BA8E78626EE42C41B46D46C3048DF3A1C3C87072",
    ),
    (
        "rrrrrrrrrrrrrrrrrrrrrhoLvTp",
        "0000000000000000000000000000000000000000",
    ),
    (
        "rrrrrrrrrrrrrrrrrrrrBZbvji",
        "0000000000000000000000000000000000000001",
    ),
    (
        "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        "B5F762798A53D543A014CAF8B297CFF8F2F937E8",
    ),
];

/// ripple-address-codec `isValidClassicAddress` true cases.
const XRP_VALID_CLASSIC: &[&str] = &[
    "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw1",
    "rLUEXYuLiQptky37CqLcm9USQpPiz5rkpD",
];

/// Strings ripple-address-codec refuses as addresses, or that are valid XRP
/// base58check of another type (node and account public keys, seeds, a
/// version-0 payload of 9 bytes).
const XRP_NOT_ADDRESSES: &[&str] = &[
    // isValidClassicAddress false cases; `r` is classicAddressToXAddress's
    // invalid classic address.
    "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw2",
    "",
    "r",
    // Bad checksum, bad prefix, 64-bit tag (flags 2).
    "XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXa",
    "dGzKGt8CVpWoa8aWL1k18tAdy9Won3PxynvbbpkAqp3V47g",
    "XVLhHMPHU98es4dbozjVtdWzVrDjtV18pX8zeUygYrCgrPh",
    // codec.encode("123456789", version 0): right version, wrong length.
    "rnaC7gW34M77Kneb78s",
    // NodePublic, AccountPublic.
    "n9MXXueo837zYH36DvMc13BwHcqtfAWNJY5czWVbp7uYTj7x17TH",
    "aB44YfzW24VDEJQ2UuLPV2PvqcPCSoLnL7y5M1EzhdW4LnK5xMS3",
    // Seeds (secp256k1 and ed25519, including the all-0 and all-1 entropy).
    "sEdTM1uX8pu2do5XvTnutH6HsouMaM2",
    "sn259rEFXrQrWyx3Q7XneWcwV6dfL",
    "sp6JS7f14BuwFY8Mw6bTtLKWauoUs",
    "saGwBRReqUNKuWNLpUAq8i8NkXEPN",
    "sEdSJHS4oiAdz7w2X2ni1gFiqtbJHqE",
    "sEdV19BLfeQeKdEXyYA4NhjPJe6XBfG",
];

fn xrp(s: &str) -> Result<Canonical, AddressError> {
    canonicalize("xrp", s)
}

fn account(c: &Canonical) -> [u8; 20] {
    c.payload().try_into().expect("20-byte account")
}

#[test]
fn xrp_classic_addresses_decode_to_their_account_id() {
    for (text, id) in XRP_ACCOUNTS {
        let c = xrp(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let id = unhex(id);
        assert_eq!(c.family(), Family::Xrp, "{text}");
        assert_eq!(c.kind(), Kind::Account, "{text}");
        assert_eq!(c.payload(), id.as_slice(), "{text}");
        let mut key = vec![0x09, 0x00];
        key.extend_from_slice(&id);
        assert_eq!(c.key(), key.as_slice(), "{text}");
        assert_eq!(c.as_str(), *text);
        assert_eq!(Canonical::from_key(c.key()).as_ref(), Ok(&c), "{text}");
        assert_eq!(canonicalize("ripple", text).as_ref(), Ok(&c), "{text}");
        assert_eq!(canonicalize_any(text).as_ref(), Ok(&c), "{text}");
    }
    for text in XRP_VALID_CLASSIC {
        let c = xrp(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!((c.family(), c.kind()), (Family::Xrp, Kind::Account));
        assert_eq!(c.payload().len(), 20);
        assert_eq!(c.as_str(), *text);
    }
}

#[test]
fn xrp_x_addresses_map_to_the_classic_account() {
    assert_eq!(X_ADDRESSES.len(), 22);
    for (classic, tag, x_main, x_test) in X_ADDRESSES {
        let c = xrp(classic).unwrap_or_else(|e| panic!("{classic}: {e}"));
        // The mainnet X-address is the classic account; the tag is not in the key.
        let x = xrp(x_main).unwrap_or_else(|e| panic!("{x_main}: {e}"));
        assert_eq!(x.key(), c.key(), "{x_main}");
        assert_eq!(x.kind(), Kind::Account, "{x_main}");
        assert_eq!(x.as_str(), *classic, "{x_main}");
        assert_eq!(canonicalize_any(x_main).as_ref(), Ok(&c), "{x_main}");
        // Our encoder reproduces the published X-address.
        assert_eq!(encode_x_address(&account(&c), *tag), *x_main, "{classic}");
        assert_eq!(x_main.len(), 47);
        // The testnet X-address is refused on mainnet, by name and by inference.
        match xrp(x_test) {
            Err(AddressError::WrongNetwork(_)) => {}
            other => panic!("{x_test}: expected WrongNetwork, got {other:?}"),
        }
        assert!(canonicalize_any(x_test).is_err(), "{x_test}");
    }
}

#[test]
fn xrp_x_address_encoding_of_extreme_accounts() {
    // index.test.ts: encodings of high and low account ids are 47 characters;
    // each one also decodes back to its account.
    let accounts: [[u8; 20]; 4] = [
        [0; 20],
        {
            let mut a = [0; 20];
            a[19] = 1;
            a
        },
        [1; 20],
        [0xff; 20],
    ];
    for id in accounts {
        for tag in [None, Some(0), Some(1), Some(u32::MAX)] {
            let x = encode_x_address(&id, tag);
            assert_eq!(x.len(), 47, "{x}");
            assert!(x.starts_with('X'), "{x}");
            let c = xrp(&x).unwrap_or_else(|e| panic!("{x}: {e}"));
            assert_eq!(c.payload(), id.as_slice(), "{x}");
        }
    }
}

#[test]
fn xrp_invalid_strings_are_refused() {
    for s in XRP_NOT_ADDRESSES {
        for chain in ["xrp", "ripple"] {
            if let Ok(c) = canonicalize(chain, s) {
                panic!("{s:?} accepted as an xrp address: {c:?}");
            }
        }
        if let Ok(c) = canonicalize_any(s) {
            assert_ne!(c.family(), Family::Xrp, "{s:?} inferred as {c:?}");
        }
    }
    // The bad-checksum X-address is refused for its checksum.
    assert!(matches!(
        xrp("XVLhHMPHU98es4dbozjVtdWzVrDjtV5fdx1mHp98tDMoQXa"),
        Err(AddressError::BadChecksum(_))
    ));
}
