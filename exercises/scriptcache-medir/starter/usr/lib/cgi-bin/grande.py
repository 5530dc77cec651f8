#!/usr/bin/python3
# Un CGI grande (miles de líneas): Python lo compila entero en cada petición.
import os

total = 0

def tramo_0(x):
    y = x * 0 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 0')

total += tramo_0(0) % 11

def tramo_1(x):
    y = x * 1 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1')

total += tramo_1(1) % 11

def tramo_2(x):
    y = x * 2 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 2')

total += tramo_2(2) % 11

def tramo_3(x):
    y = x * 3 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 3')

total += tramo_3(3) % 11

def tramo_4(x):
    y = x * 4 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 4')

total += tramo_4(4) % 11

def tramo_5(x):
    y = x * 5 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 5')

total += tramo_5(5) % 11

def tramo_6(x):
    y = x * 6 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 6')

total += tramo_6(6) % 11

def tramo_7(x):
    y = x * 7 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 7')

total += tramo_7(7) % 11

def tramo_8(x):
    y = x * 8 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 8')

total += tramo_8(8) % 11

def tramo_9(x):
    y = x * 9 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 9')

total += tramo_9(9) % 11

def tramo_10(x):
    y = x * 10 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 10')

total += tramo_10(10) % 11

def tramo_11(x):
    y = x * 11 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 11')

total += tramo_11(11) % 11

def tramo_12(x):
    y = x * 12 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 12')

total += tramo_12(12) % 11

def tramo_13(x):
    y = x * 13 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 13')

total += tramo_13(13) % 11

def tramo_14(x):
    y = x * 14 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 14')

total += tramo_14(14) % 11

def tramo_15(x):
    y = x * 15 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 15')

total += tramo_15(15) % 11

def tramo_16(x):
    y = x * 16 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 16')

total += tramo_16(16) % 11

def tramo_17(x):
    y = x * 17 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 17')

total += tramo_17(17) % 11

def tramo_18(x):
    y = x * 18 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 18')

total += tramo_18(18) % 11

def tramo_19(x):
    y = x * 19 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 19')

total += tramo_19(19) % 11

def tramo_20(x):
    y = x * 20 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 20')

total += tramo_20(20) % 11

def tramo_21(x):
    y = x * 21 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 21')

total += tramo_21(21) % 11

def tramo_22(x):
    y = x * 22 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 22')

total += tramo_22(22) % 11

def tramo_23(x):
    y = x * 23 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 23')

total += tramo_23(23) % 11

def tramo_24(x):
    y = x * 24 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 24')

total += tramo_24(24) % 11

def tramo_25(x):
    y = x * 25 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 25')

total += tramo_25(25) % 11

def tramo_26(x):
    y = x * 26 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 26')

total += tramo_26(26) % 11

def tramo_27(x):
    y = x * 27 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 27')

total += tramo_27(27) % 11

def tramo_28(x):
    y = x * 28 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 28')

total += tramo_28(28) % 11

def tramo_29(x):
    y = x * 29 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 29')

total += tramo_29(29) % 11

def tramo_30(x):
    y = x * 30 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 30')

total += tramo_30(30) % 11

def tramo_31(x):
    y = x * 31 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 31')

total += tramo_31(31) % 11

def tramo_32(x):
    y = x * 32 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 32')

total += tramo_32(32) % 11

def tramo_33(x):
    y = x * 33 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 33')

total += tramo_33(33) % 11

def tramo_34(x):
    y = x * 34 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 34')

total += tramo_34(34) % 11

def tramo_35(x):
    y = x * 35 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 35')

total += tramo_35(35) % 11

def tramo_36(x):
    y = x * 36 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 36')

total += tramo_36(36) % 11

def tramo_37(x):
    y = x * 37 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 37')

total += tramo_37(37) % 11

def tramo_38(x):
    y = x * 38 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 38')

total += tramo_38(38) % 11

def tramo_39(x):
    y = x * 39 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 39')

total += tramo_39(39) % 11

def tramo_40(x):
    y = x * 40 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 40')

total += tramo_40(40) % 11

def tramo_41(x):
    y = x * 41 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 41')

total += tramo_41(41) % 11

def tramo_42(x):
    y = x * 42 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 42')

total += tramo_42(42) % 11

def tramo_43(x):
    y = x * 43 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 43')

total += tramo_43(43) % 11

def tramo_44(x):
    y = x * 44 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 44')

total += tramo_44(44) % 11

def tramo_45(x):
    y = x * 45 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 45')

total += tramo_45(45) % 11

def tramo_46(x):
    y = x * 46 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 46')

total += tramo_46(46) % 11

def tramo_47(x):
    y = x * 47 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 47')

total += tramo_47(47) % 11

def tramo_48(x):
    y = x * 48 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 48')

total += tramo_48(48) % 11

def tramo_49(x):
    y = x * 49 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 49')

total += tramo_49(49) % 11

def tramo_50(x):
    y = x * 50 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 50')

total += tramo_50(50) % 11

def tramo_51(x):
    y = x * 51 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 51')

total += tramo_51(51) % 11

def tramo_52(x):
    y = x * 52 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 52')

total += tramo_52(52) % 11

def tramo_53(x):
    y = x * 53 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 53')

total += tramo_53(53) % 11

def tramo_54(x):
    y = x * 54 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 54')

total += tramo_54(54) % 11

def tramo_55(x):
    y = x * 55 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 55')

total += tramo_55(55) % 11

def tramo_56(x):
    y = x * 56 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 56')

total += tramo_56(56) % 11

def tramo_57(x):
    y = x * 57 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 57')

total += tramo_57(57) % 11

def tramo_58(x):
    y = x * 58 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 58')

total += tramo_58(58) % 11

def tramo_59(x):
    y = x * 59 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 59')

total += tramo_59(59) % 11

def tramo_60(x):
    y = x * 60 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 60')

total += tramo_60(60) % 11

def tramo_61(x):
    y = x * 61 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 61')

total += tramo_61(61) % 11

def tramo_62(x):
    y = x * 62 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 62')

total += tramo_62(62) % 11

def tramo_63(x):
    y = x * 63 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 63')

total += tramo_63(63) % 11

def tramo_64(x):
    y = x * 64 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 64')

total += tramo_64(64) % 11

def tramo_65(x):
    y = x * 65 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 65')

total += tramo_65(65) % 11

def tramo_66(x):
    y = x * 66 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 66')

total += tramo_66(66) % 11

def tramo_67(x):
    y = x * 67 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 67')

total += tramo_67(67) % 11

def tramo_68(x):
    y = x * 68 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 68')

total += tramo_68(68) % 11

def tramo_69(x):
    y = x * 69 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 69')

total += tramo_69(69) % 11

def tramo_70(x):
    y = x * 70 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 70')

total += tramo_70(70) % 11

def tramo_71(x):
    y = x * 71 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 71')

total += tramo_71(71) % 11

def tramo_72(x):
    y = x * 72 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 72')

total += tramo_72(72) % 11

def tramo_73(x):
    y = x * 73 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 73')

total += tramo_73(73) % 11

def tramo_74(x):
    y = x * 74 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 74')

total += tramo_74(74) % 11

def tramo_75(x):
    y = x * 75 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 75')

total += tramo_75(75) % 11

def tramo_76(x):
    y = x * 76 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 76')

total += tramo_76(76) % 11

def tramo_77(x):
    y = x * 77 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 77')

total += tramo_77(77) % 11

def tramo_78(x):
    y = x * 78 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 78')

total += tramo_78(78) % 11

def tramo_79(x):
    y = x * 79 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 79')

total += tramo_79(79) % 11

def tramo_80(x):
    y = x * 80 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 80')

total += tramo_80(80) % 11

def tramo_81(x):
    y = x * 81 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 81')

total += tramo_81(81) % 11

def tramo_82(x):
    y = x * 82 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 82')

total += tramo_82(82) % 11

def tramo_83(x):
    y = x * 83 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 83')

total += tramo_83(83) % 11

def tramo_84(x):
    y = x * 84 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 84')

total += tramo_84(84) % 11

def tramo_85(x):
    y = x * 85 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 85')

total += tramo_85(85) % 11

def tramo_86(x):
    y = x * 86 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 86')

total += tramo_86(86) % 11

def tramo_87(x):
    y = x * 87 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 87')

total += tramo_87(87) % 11

def tramo_88(x):
    y = x * 88 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 88')

total += tramo_88(88) % 11

def tramo_89(x):
    y = x * 89 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 89')

total += tramo_89(89) % 11

def tramo_90(x):
    y = x * 90 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 90')

total += tramo_90(90) % 11

def tramo_91(x):
    y = x * 91 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 91')

total += tramo_91(91) % 11

def tramo_92(x):
    y = x * 92 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 92')

total += tramo_92(92) % 11

def tramo_93(x):
    y = x * 93 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 93')

total += tramo_93(93) % 11

def tramo_94(x):
    y = x * 94 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 94')

total += tramo_94(94) % 11

def tramo_95(x):
    y = x * 95 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 95')

total += tramo_95(95) % 11

def tramo_96(x):
    y = x * 96 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 96')

total += tramo_96(96) % 11

def tramo_97(x):
    y = x * 97 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 97')

total += tramo_97(97) % 11

def tramo_98(x):
    y = x * 98 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 98')

total += tramo_98(98) % 11

def tramo_99(x):
    y = x * 99 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 99')

total += tramo_99(99) % 11

def tramo_100(x):
    y = x * 100 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 100')

total += tramo_100(100) % 11

def tramo_101(x):
    y = x * 101 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 101')

total += tramo_101(101) % 11

def tramo_102(x):
    y = x * 102 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 102')

total += tramo_102(102) % 11

def tramo_103(x):
    y = x * 103 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 103')

total += tramo_103(103) % 11

def tramo_104(x):
    y = x * 104 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 104')

total += tramo_104(104) % 11

def tramo_105(x):
    y = x * 105 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 105')

total += tramo_105(105) % 11

def tramo_106(x):
    y = x * 106 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 106')

total += tramo_106(106) % 11

def tramo_107(x):
    y = x * 107 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 107')

total += tramo_107(107) % 11

def tramo_108(x):
    y = x * 108 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 108')

total += tramo_108(108) % 11

def tramo_109(x):
    y = x * 109 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 109')

total += tramo_109(109) % 11

def tramo_110(x):
    y = x * 110 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 110')

total += tramo_110(110) % 11

def tramo_111(x):
    y = x * 111 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 111')

total += tramo_111(111) % 11

def tramo_112(x):
    y = x * 112 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 112')

total += tramo_112(112) % 11

def tramo_113(x):
    y = x * 113 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 113')

total += tramo_113(113) % 11

def tramo_114(x):
    y = x * 114 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 114')

total += tramo_114(114) % 11

def tramo_115(x):
    y = x * 115 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 115')

total += tramo_115(115) % 11

def tramo_116(x):
    y = x * 116 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 116')

total += tramo_116(116) % 11

def tramo_117(x):
    y = x * 117 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 117')

total += tramo_117(117) % 11

def tramo_118(x):
    y = x * 118 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 118')

total += tramo_118(118) % 11

def tramo_119(x):
    y = x * 119 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 119')

total += tramo_119(119) % 11

def tramo_120(x):
    y = x * 120 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 120')

total += tramo_120(120) % 11

def tramo_121(x):
    y = x * 121 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 121')

total += tramo_121(121) % 11

def tramo_122(x):
    y = x * 122 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 122')

total += tramo_122(122) % 11

def tramo_123(x):
    y = x * 123 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 123')

total += tramo_123(123) % 11

def tramo_124(x):
    y = x * 124 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 124')

total += tramo_124(124) % 11

def tramo_125(x):
    y = x * 125 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 125')

total += tramo_125(125) % 11

def tramo_126(x):
    y = x * 126 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 126')

total += tramo_126(126) % 11

def tramo_127(x):
    y = x * 127 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 127')

total += tramo_127(127) % 11

def tramo_128(x):
    y = x * 128 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 128')

total += tramo_128(128) % 11

def tramo_129(x):
    y = x * 129 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 129')

total += tramo_129(129) % 11

def tramo_130(x):
    y = x * 130 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 130')

total += tramo_130(130) % 11

def tramo_131(x):
    y = x * 131 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 131')

total += tramo_131(131) % 11

def tramo_132(x):
    y = x * 132 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 132')

total += tramo_132(132) % 11

def tramo_133(x):
    y = x * 133 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 133')

total += tramo_133(133) % 11

def tramo_134(x):
    y = x * 134 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 134')

total += tramo_134(134) % 11

def tramo_135(x):
    y = x * 135 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 135')

total += tramo_135(135) % 11

def tramo_136(x):
    y = x * 136 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 136')

total += tramo_136(136) % 11

def tramo_137(x):
    y = x * 137 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 137')

total += tramo_137(137) % 11

def tramo_138(x):
    y = x * 138 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 138')

total += tramo_138(138) % 11

def tramo_139(x):
    y = x * 139 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 139')

total += tramo_139(139) % 11

def tramo_140(x):
    y = x * 140 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 140')

total += tramo_140(140) % 11

def tramo_141(x):
    y = x * 141 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 141')

total += tramo_141(141) % 11

def tramo_142(x):
    y = x * 142 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 142')

total += tramo_142(142) % 11

def tramo_143(x):
    y = x * 143 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 143')

total += tramo_143(143) % 11

def tramo_144(x):
    y = x * 144 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 144')

total += tramo_144(144) % 11

def tramo_145(x):
    y = x * 145 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 145')

total += tramo_145(145) % 11

def tramo_146(x):
    y = x * 146 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 146')

total += tramo_146(146) % 11

def tramo_147(x):
    y = x * 147 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 147')

total += tramo_147(147) % 11

def tramo_148(x):
    y = x * 148 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 148')

total += tramo_148(148) % 11

def tramo_149(x):
    y = x * 149 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 149')

total += tramo_149(149) % 11

def tramo_150(x):
    y = x * 150 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 150')

total += tramo_150(150) % 11

def tramo_151(x):
    y = x * 151 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 151')

total += tramo_151(151) % 11

def tramo_152(x):
    y = x * 152 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 152')

total += tramo_152(152) % 11

def tramo_153(x):
    y = x * 153 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 153')

total += tramo_153(153) % 11

def tramo_154(x):
    y = x * 154 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 154')

total += tramo_154(154) % 11

def tramo_155(x):
    y = x * 155 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 155')

total += tramo_155(155) % 11

def tramo_156(x):
    y = x * 156 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 156')

total += tramo_156(156) % 11

def tramo_157(x):
    y = x * 157 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 157')

total += tramo_157(157) % 11

def tramo_158(x):
    y = x * 158 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 158')

total += tramo_158(158) % 11

def tramo_159(x):
    y = x * 159 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 159')

total += tramo_159(159) % 11

def tramo_160(x):
    y = x * 160 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 160')

total += tramo_160(160) % 11

def tramo_161(x):
    y = x * 161 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 161')

total += tramo_161(161) % 11

def tramo_162(x):
    y = x * 162 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 162')

total += tramo_162(162) % 11

def tramo_163(x):
    y = x * 163 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 163')

total += tramo_163(163) % 11

def tramo_164(x):
    y = x * 164 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 164')

total += tramo_164(164) % 11

def tramo_165(x):
    y = x * 165 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 165')

total += tramo_165(165) % 11

def tramo_166(x):
    y = x * 166 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 166')

total += tramo_166(166) % 11

def tramo_167(x):
    y = x * 167 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 167')

total += tramo_167(167) % 11

def tramo_168(x):
    y = x * 168 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 168')

total += tramo_168(168) % 11

def tramo_169(x):
    y = x * 169 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 169')

total += tramo_169(169) % 11

def tramo_170(x):
    y = x * 170 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 170')

total += tramo_170(170) % 11

def tramo_171(x):
    y = x * 171 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 171')

total += tramo_171(171) % 11

def tramo_172(x):
    y = x * 172 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 172')

total += tramo_172(172) % 11

def tramo_173(x):
    y = x * 173 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 173')

total += tramo_173(173) % 11

def tramo_174(x):
    y = x * 174 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 174')

total += tramo_174(174) % 11

def tramo_175(x):
    y = x * 175 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 175')

total += tramo_175(175) % 11

def tramo_176(x):
    y = x * 176 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 176')

total += tramo_176(176) % 11

def tramo_177(x):
    y = x * 177 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 177')

total += tramo_177(177) % 11

def tramo_178(x):
    y = x * 178 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 178')

total += tramo_178(178) % 11

def tramo_179(x):
    y = x * 179 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 179')

total += tramo_179(179) % 11

def tramo_180(x):
    y = x * 180 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 180')

total += tramo_180(180) % 11

def tramo_181(x):
    y = x * 181 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 181')

total += tramo_181(181) % 11

def tramo_182(x):
    y = x * 182 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 182')

total += tramo_182(182) % 11

def tramo_183(x):
    y = x * 183 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 183')

total += tramo_183(183) % 11

def tramo_184(x):
    y = x * 184 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 184')

total += tramo_184(184) % 11

def tramo_185(x):
    y = x * 185 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 185')

total += tramo_185(185) % 11

def tramo_186(x):
    y = x * 186 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 186')

total += tramo_186(186) % 11

def tramo_187(x):
    y = x * 187 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 187')

total += tramo_187(187) % 11

def tramo_188(x):
    y = x * 188 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 188')

total += tramo_188(188) % 11

def tramo_189(x):
    y = x * 189 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 189')

total += tramo_189(189) % 11

def tramo_190(x):
    y = x * 190 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 190')

total += tramo_190(190) % 11

def tramo_191(x):
    y = x * 191 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 191')

total += tramo_191(191) % 11

def tramo_192(x):
    y = x * 192 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 192')

total += tramo_192(192) % 11

def tramo_193(x):
    y = x * 193 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 193')

total += tramo_193(193) % 11

def tramo_194(x):
    y = x * 194 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 194')

total += tramo_194(194) % 11

def tramo_195(x):
    y = x * 195 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 195')

total += tramo_195(195) % 11

def tramo_196(x):
    y = x * 196 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 196')

total += tramo_196(196) % 11

def tramo_197(x):
    y = x * 197 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 197')

total += tramo_197(197) % 11

def tramo_198(x):
    y = x * 198 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 198')

total += tramo_198(198) % 11

def tramo_199(x):
    y = x * 199 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 199')

total += tramo_199(199) % 11

def tramo_200(x):
    y = x * 200 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 200')

total += tramo_200(200) % 11

def tramo_201(x):
    y = x * 201 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 201')

total += tramo_201(201) % 11

def tramo_202(x):
    y = x * 202 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 202')

total += tramo_202(202) % 11

def tramo_203(x):
    y = x * 203 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 203')

total += tramo_203(203) % 11

def tramo_204(x):
    y = x * 204 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 204')

total += tramo_204(204) % 11

def tramo_205(x):
    y = x * 205 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 205')

total += tramo_205(205) % 11

def tramo_206(x):
    y = x * 206 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 206')

total += tramo_206(206) % 11

def tramo_207(x):
    y = x * 207 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 207')

total += tramo_207(207) % 11

def tramo_208(x):
    y = x * 208 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 208')

total += tramo_208(208) % 11

def tramo_209(x):
    y = x * 209 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 209')

total += tramo_209(209) % 11

def tramo_210(x):
    y = x * 210 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 210')

total += tramo_210(210) % 11

def tramo_211(x):
    y = x * 211 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 211')

total += tramo_211(211) % 11

def tramo_212(x):
    y = x * 212 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 212')

total += tramo_212(212) % 11

def tramo_213(x):
    y = x * 213 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 213')

total += tramo_213(213) % 11

def tramo_214(x):
    y = x * 214 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 214')

total += tramo_214(214) % 11

def tramo_215(x):
    y = x * 215 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 215')

total += tramo_215(215) % 11

def tramo_216(x):
    y = x * 216 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 216')

total += tramo_216(216) % 11

def tramo_217(x):
    y = x * 217 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 217')

total += tramo_217(217) % 11

def tramo_218(x):
    y = x * 218 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 218')

total += tramo_218(218) % 11

def tramo_219(x):
    y = x * 219 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 219')

total += tramo_219(219) % 11

def tramo_220(x):
    y = x * 220 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 220')

total += tramo_220(220) % 11

def tramo_221(x):
    y = x * 221 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 221')

total += tramo_221(221) % 11

def tramo_222(x):
    y = x * 222 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 222')

total += tramo_222(222) % 11

def tramo_223(x):
    y = x * 223 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 223')

total += tramo_223(223) % 11

def tramo_224(x):
    y = x * 224 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 224')

total += tramo_224(224) % 11

def tramo_225(x):
    y = x * 225 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 225')

total += tramo_225(225) % 11

def tramo_226(x):
    y = x * 226 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 226')

total += tramo_226(226) % 11

def tramo_227(x):
    y = x * 227 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 227')

total += tramo_227(227) % 11

def tramo_228(x):
    y = x * 228 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 228')

total += tramo_228(228) % 11

def tramo_229(x):
    y = x * 229 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 229')

total += tramo_229(229) % 11

def tramo_230(x):
    y = x * 230 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 230')

total += tramo_230(230) % 11

def tramo_231(x):
    y = x * 231 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 231')

total += tramo_231(231) % 11

def tramo_232(x):
    y = x * 232 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 232')

total += tramo_232(232) % 11

def tramo_233(x):
    y = x * 233 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 233')

total += tramo_233(233) % 11

def tramo_234(x):
    y = x * 234 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 234')

total += tramo_234(234) % 11

def tramo_235(x):
    y = x * 235 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 235')

total += tramo_235(235) % 11

def tramo_236(x):
    y = x * 236 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 236')

total += tramo_236(236) % 11

def tramo_237(x):
    y = x * 237 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 237')

total += tramo_237(237) % 11

def tramo_238(x):
    y = x * 238 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 238')

total += tramo_238(238) % 11

def tramo_239(x):
    y = x * 239 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 239')

total += tramo_239(239) % 11

def tramo_240(x):
    y = x * 240 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 240')

total += tramo_240(240) % 11

def tramo_241(x):
    y = x * 241 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 241')

total += tramo_241(241) % 11

def tramo_242(x):
    y = x * 242 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 242')

total += tramo_242(242) % 11

def tramo_243(x):
    y = x * 243 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 243')

total += tramo_243(243) % 11

def tramo_244(x):
    y = x * 244 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 244')

total += tramo_244(244) % 11

def tramo_245(x):
    y = x * 245 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 245')

total += tramo_245(245) % 11

def tramo_246(x):
    y = x * 246 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 246')

total += tramo_246(246) % 11

def tramo_247(x):
    y = x * 247 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 247')

total += tramo_247(247) % 11

def tramo_248(x):
    y = x * 248 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 248')

total += tramo_248(248) % 11

def tramo_249(x):
    y = x * 249 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 249')

total += tramo_249(249) % 11

def tramo_250(x):
    y = x * 250 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 250')

total += tramo_250(250) % 11

def tramo_251(x):
    y = x * 251 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 251')

total += tramo_251(251) % 11

def tramo_252(x):
    y = x * 252 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 252')

total += tramo_252(252) % 11

def tramo_253(x):
    y = x * 253 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 253')

total += tramo_253(253) % 11

def tramo_254(x):
    y = x * 254 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 254')

total += tramo_254(254) % 11

def tramo_255(x):
    y = x * 255 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 255')

total += tramo_255(255) % 11

def tramo_256(x):
    y = x * 256 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 256')

total += tramo_256(256) % 11

def tramo_257(x):
    y = x * 257 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 257')

total += tramo_257(257) % 11

def tramo_258(x):
    y = x * 258 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 258')

total += tramo_258(258) % 11

def tramo_259(x):
    y = x * 259 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 259')

total += tramo_259(259) % 11

def tramo_260(x):
    y = x * 260 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 260')

total += tramo_260(260) % 11

def tramo_261(x):
    y = x * 261 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 261')

total += tramo_261(261) % 11

def tramo_262(x):
    y = x * 262 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 262')

total += tramo_262(262) % 11

def tramo_263(x):
    y = x * 263 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 263')

total += tramo_263(263) % 11

def tramo_264(x):
    y = x * 264 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 264')

total += tramo_264(264) % 11

def tramo_265(x):
    y = x * 265 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 265')

total += tramo_265(265) % 11

def tramo_266(x):
    y = x * 266 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 266')

total += tramo_266(266) % 11

def tramo_267(x):
    y = x * 267 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 267')

total += tramo_267(267) % 11

def tramo_268(x):
    y = x * 268 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 268')

total += tramo_268(268) % 11

def tramo_269(x):
    y = x * 269 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 269')

total += tramo_269(269) % 11

def tramo_270(x):
    y = x * 270 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 270')

total += tramo_270(270) % 11

def tramo_271(x):
    y = x * 271 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 271')

total += tramo_271(271) % 11

def tramo_272(x):
    y = x * 272 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 272')

total += tramo_272(272) % 11

def tramo_273(x):
    y = x * 273 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 273')

total += tramo_273(273) % 11

def tramo_274(x):
    y = x * 274 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 274')

total += tramo_274(274) % 11

def tramo_275(x):
    y = x * 275 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 275')

total += tramo_275(275) % 11

def tramo_276(x):
    y = x * 276 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 276')

total += tramo_276(276) % 11

def tramo_277(x):
    y = x * 277 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 277')

total += tramo_277(277) % 11

def tramo_278(x):
    y = x * 278 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 278')

total += tramo_278(278) % 11

def tramo_279(x):
    y = x * 279 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 279')

total += tramo_279(279) % 11

def tramo_280(x):
    y = x * 280 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 280')

total += tramo_280(280) % 11

def tramo_281(x):
    y = x * 281 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 281')

total += tramo_281(281) % 11

def tramo_282(x):
    y = x * 282 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 282')

total += tramo_282(282) % 11

def tramo_283(x):
    y = x * 283 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 283')

total += tramo_283(283) % 11

def tramo_284(x):
    y = x * 284 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 284')

total += tramo_284(284) % 11

def tramo_285(x):
    y = x * 285 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 285')

total += tramo_285(285) % 11

def tramo_286(x):
    y = x * 286 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 286')

total += tramo_286(286) % 11

def tramo_287(x):
    y = x * 287 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 287')

total += tramo_287(287) % 11

def tramo_288(x):
    y = x * 288 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 288')

total += tramo_288(288) % 11

def tramo_289(x):
    y = x * 289 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 289')

total += tramo_289(289) % 11

def tramo_290(x):
    y = x * 290 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 290')

total += tramo_290(290) % 11

def tramo_291(x):
    y = x * 291 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 291')

total += tramo_291(291) % 11

def tramo_292(x):
    y = x * 292 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 292')

total += tramo_292(292) % 11

def tramo_293(x):
    y = x * 293 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 293')

total += tramo_293(293) % 11

def tramo_294(x):
    y = x * 294 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 294')

total += tramo_294(294) % 11

def tramo_295(x):
    y = x * 295 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 295')

total += tramo_295(295) % 11

def tramo_296(x):
    y = x * 296 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 296')

total += tramo_296(296) % 11

def tramo_297(x):
    y = x * 297 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 297')

total += tramo_297(297) % 11

def tramo_298(x):
    y = x * 298 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 298')

total += tramo_298(298) % 11

def tramo_299(x):
    y = x * 299 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 299')

total += tramo_299(299) % 11

def tramo_300(x):
    y = x * 300 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 300')

total += tramo_300(300) % 11

def tramo_301(x):
    y = x * 301 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 301')

total += tramo_301(301) % 11

def tramo_302(x):
    y = x * 302 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 302')

total += tramo_302(302) % 11

def tramo_303(x):
    y = x * 303 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 303')

total += tramo_303(303) % 11

def tramo_304(x):
    y = x * 304 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 304')

total += tramo_304(304) % 11

def tramo_305(x):
    y = x * 305 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 305')

total += tramo_305(305) % 11

def tramo_306(x):
    y = x * 306 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 306')

total += tramo_306(306) % 11

def tramo_307(x):
    y = x * 307 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 307')

total += tramo_307(307) % 11

def tramo_308(x):
    y = x * 308 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 308')

total += tramo_308(308) % 11

def tramo_309(x):
    y = x * 309 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 309')

total += tramo_309(309) % 11

def tramo_310(x):
    y = x * 310 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 310')

total += tramo_310(310) % 11

def tramo_311(x):
    y = x * 311 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 311')

total += tramo_311(311) % 11

def tramo_312(x):
    y = x * 312 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 312')

total += tramo_312(312) % 11

def tramo_313(x):
    y = x * 313 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 313')

total += tramo_313(313) % 11

def tramo_314(x):
    y = x * 314 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 314')

total += tramo_314(314) % 11

def tramo_315(x):
    y = x * 315 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 315')

total += tramo_315(315) % 11

def tramo_316(x):
    y = x * 316 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 316')

total += tramo_316(316) % 11

def tramo_317(x):
    y = x * 317 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 317')

total += tramo_317(317) % 11

def tramo_318(x):
    y = x * 318 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 318')

total += tramo_318(318) % 11

def tramo_319(x):
    y = x * 319 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 319')

total += tramo_319(319) % 11

def tramo_320(x):
    y = x * 320 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 320')

total += tramo_320(320) % 11

def tramo_321(x):
    y = x * 321 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 321')

total += tramo_321(321) % 11

def tramo_322(x):
    y = x * 322 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 322')

total += tramo_322(322) % 11

def tramo_323(x):
    y = x * 323 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 323')

total += tramo_323(323) % 11

def tramo_324(x):
    y = x * 324 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 324')

total += tramo_324(324) % 11

def tramo_325(x):
    y = x * 325 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 325')

total += tramo_325(325) % 11

def tramo_326(x):
    y = x * 326 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 326')

total += tramo_326(326) % 11

def tramo_327(x):
    y = x * 327 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 327')

total += tramo_327(327) % 11

def tramo_328(x):
    y = x * 328 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 328')

total += tramo_328(328) % 11

def tramo_329(x):
    y = x * 329 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 329')

total += tramo_329(329) % 11

def tramo_330(x):
    y = x * 330 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 330')

total += tramo_330(330) % 11

def tramo_331(x):
    y = x * 331 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 331')

total += tramo_331(331) % 11

def tramo_332(x):
    y = x * 332 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 332')

total += tramo_332(332) % 11

def tramo_333(x):
    y = x * 333 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 333')

total += tramo_333(333) % 11

def tramo_334(x):
    y = x * 334 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 334')

total += tramo_334(334) % 11

def tramo_335(x):
    y = x * 335 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 335')

total += tramo_335(335) % 11

def tramo_336(x):
    y = x * 336 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 336')

total += tramo_336(336) % 11

def tramo_337(x):
    y = x * 337 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 337')

total += tramo_337(337) % 11

def tramo_338(x):
    y = x * 338 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 338')

total += tramo_338(338) % 11

def tramo_339(x):
    y = x * 339 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 339')

total += tramo_339(339) % 11

def tramo_340(x):
    y = x * 340 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 340')

total += tramo_340(340) % 11

def tramo_341(x):
    y = x * 341 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 341')

total += tramo_341(341) % 11

def tramo_342(x):
    y = x * 342 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 342')

total += tramo_342(342) % 11

def tramo_343(x):
    y = x * 343 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 343')

total += tramo_343(343) % 11

def tramo_344(x):
    y = x * 344 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 344')

total += tramo_344(344) % 11

def tramo_345(x):
    y = x * 345 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 345')

total += tramo_345(345) % 11

def tramo_346(x):
    y = x * 346 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 346')

total += tramo_346(346) % 11

def tramo_347(x):
    y = x * 347 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 347')

total += tramo_347(347) % 11

def tramo_348(x):
    y = x * 348 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 348')

total += tramo_348(348) % 11

def tramo_349(x):
    y = x * 349 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 349')

total += tramo_349(349) % 11

def tramo_350(x):
    y = x * 350 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 350')

total += tramo_350(350) % 11

def tramo_351(x):
    y = x * 351 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 351')

total += tramo_351(351) % 11

def tramo_352(x):
    y = x * 352 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 352')

total += tramo_352(352) % 11

def tramo_353(x):
    y = x * 353 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 353')

total += tramo_353(353) % 11

def tramo_354(x):
    y = x * 354 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 354')

total += tramo_354(354) % 11

def tramo_355(x):
    y = x * 355 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 355')

total += tramo_355(355) % 11

def tramo_356(x):
    y = x * 356 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 356')

total += tramo_356(356) % 11

def tramo_357(x):
    y = x * 357 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 357')

total += tramo_357(357) % 11

def tramo_358(x):
    y = x * 358 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 358')

total += tramo_358(358) % 11

def tramo_359(x):
    y = x * 359 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 359')

total += tramo_359(359) % 11

def tramo_360(x):
    y = x * 360 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 360')

total += tramo_360(360) % 11

def tramo_361(x):
    y = x * 361 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 361')

total += tramo_361(361) % 11

def tramo_362(x):
    y = x * 362 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 362')

total += tramo_362(362) % 11

def tramo_363(x):
    y = x * 363 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 363')

total += tramo_363(363) % 11

def tramo_364(x):
    y = x * 364 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 364')

total += tramo_364(364) % 11

def tramo_365(x):
    y = x * 365 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 365')

total += tramo_365(365) % 11

def tramo_366(x):
    y = x * 366 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 366')

total += tramo_366(366) % 11

def tramo_367(x):
    y = x * 367 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 367')

total += tramo_367(367) % 11

def tramo_368(x):
    y = x * 368 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 368')

total += tramo_368(368) % 11

def tramo_369(x):
    y = x * 369 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 369')

total += tramo_369(369) % 11

def tramo_370(x):
    y = x * 370 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 370')

total += tramo_370(370) % 11

def tramo_371(x):
    y = x * 371 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 371')

total += tramo_371(371) % 11

def tramo_372(x):
    y = x * 372 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 372')

total += tramo_372(372) % 11

def tramo_373(x):
    y = x * 373 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 373')

total += tramo_373(373) % 11

def tramo_374(x):
    y = x * 374 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 374')

total += tramo_374(374) % 11

def tramo_375(x):
    y = x * 375 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 375')

total += tramo_375(375) % 11

def tramo_376(x):
    y = x * 376 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 376')

total += tramo_376(376) % 11

def tramo_377(x):
    y = x * 377 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 377')

total += tramo_377(377) % 11

def tramo_378(x):
    y = x * 378 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 378')

total += tramo_378(378) % 11

def tramo_379(x):
    y = x * 379 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 379')

total += tramo_379(379) % 11

def tramo_380(x):
    y = x * 380 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 380')

total += tramo_380(380) % 11

def tramo_381(x):
    y = x * 381 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 381')

total += tramo_381(381) % 11

def tramo_382(x):
    y = x * 382 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 382')

total += tramo_382(382) % 11

def tramo_383(x):
    y = x * 383 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 383')

total += tramo_383(383) % 11

def tramo_384(x):
    y = x * 384 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 384')

total += tramo_384(384) % 11

def tramo_385(x):
    y = x * 385 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 385')

total += tramo_385(385) % 11

def tramo_386(x):
    y = x * 386 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 386')

total += tramo_386(386) % 11

def tramo_387(x):
    y = x * 387 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 387')

total += tramo_387(387) % 11

def tramo_388(x):
    y = x * 388 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 388')

total += tramo_388(388) % 11

def tramo_389(x):
    y = x * 389 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 389')

total += tramo_389(389) % 11

def tramo_390(x):
    y = x * 390 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 390')

total += tramo_390(390) % 11

def tramo_391(x):
    y = x * 391 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 391')

total += tramo_391(391) % 11

def tramo_392(x):
    y = x * 392 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 392')

total += tramo_392(392) % 11

def tramo_393(x):
    y = x * 393 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 393')

total += tramo_393(393) % 11

def tramo_394(x):
    y = x * 394 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 394')

total += tramo_394(394) % 11

def tramo_395(x):
    y = x * 395 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 395')

total += tramo_395(395) % 11

def tramo_396(x):
    y = x * 396 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 396')

total += tramo_396(396) % 11

def tramo_397(x):
    y = x * 397 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 397')

total += tramo_397(397) % 11

def tramo_398(x):
    y = x * 398 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 398')

total += tramo_398(398) % 11

def tramo_399(x):
    y = x * 399 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 399')

total += tramo_399(399) % 11

def tramo_400(x):
    y = x * 400 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 400')

total += tramo_400(400) % 11

def tramo_401(x):
    y = x * 401 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 401')

total += tramo_401(401) % 11

def tramo_402(x):
    y = x * 402 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 402')

total += tramo_402(402) % 11

def tramo_403(x):
    y = x * 403 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 403')

total += tramo_403(403) % 11

def tramo_404(x):
    y = x * 404 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 404')

total += tramo_404(404) % 11

def tramo_405(x):
    y = x * 405 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 405')

total += tramo_405(405) % 11

def tramo_406(x):
    y = x * 406 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 406')

total += tramo_406(406) % 11

def tramo_407(x):
    y = x * 407 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 407')

total += tramo_407(407) % 11

def tramo_408(x):
    y = x * 408 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 408')

total += tramo_408(408) % 11

def tramo_409(x):
    y = x * 409 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 409')

total += tramo_409(409) % 11

def tramo_410(x):
    y = x * 410 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 410')

total += tramo_410(410) % 11

def tramo_411(x):
    y = x * 411 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 411')

total += tramo_411(411) % 11

def tramo_412(x):
    y = x * 412 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 412')

total += tramo_412(412) % 11

def tramo_413(x):
    y = x * 413 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 413')

total += tramo_413(413) % 11

def tramo_414(x):
    y = x * 414 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 414')

total += tramo_414(414) % 11

def tramo_415(x):
    y = x * 415 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 415')

total += tramo_415(415) % 11

def tramo_416(x):
    y = x * 416 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 416')

total += tramo_416(416) % 11

def tramo_417(x):
    y = x * 417 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 417')

total += tramo_417(417) % 11

def tramo_418(x):
    y = x * 418 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 418')

total += tramo_418(418) % 11

def tramo_419(x):
    y = x * 419 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 419')

total += tramo_419(419) % 11

def tramo_420(x):
    y = x * 420 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 420')

total += tramo_420(420) % 11

def tramo_421(x):
    y = x * 421 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 421')

total += tramo_421(421) % 11

def tramo_422(x):
    y = x * 422 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 422')

total += tramo_422(422) % 11

def tramo_423(x):
    y = x * 423 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 423')

total += tramo_423(423) % 11

def tramo_424(x):
    y = x * 424 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 424')

total += tramo_424(424) % 11

def tramo_425(x):
    y = x * 425 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 425')

total += tramo_425(425) % 11

def tramo_426(x):
    y = x * 426 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 426')

total += tramo_426(426) % 11

def tramo_427(x):
    y = x * 427 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 427')

total += tramo_427(427) % 11

def tramo_428(x):
    y = x * 428 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 428')

total += tramo_428(428) % 11

def tramo_429(x):
    y = x * 429 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 429')

total += tramo_429(429) % 11

def tramo_430(x):
    y = x * 430 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 430')

total += tramo_430(430) % 11

def tramo_431(x):
    y = x * 431 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 431')

total += tramo_431(431) % 11

def tramo_432(x):
    y = x * 432 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 432')

total += tramo_432(432) % 11

def tramo_433(x):
    y = x * 433 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 433')

total += tramo_433(433) % 11

def tramo_434(x):
    y = x * 434 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 434')

total += tramo_434(434) % 11

def tramo_435(x):
    y = x * 435 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 435')

total += tramo_435(435) % 11

def tramo_436(x):
    y = x * 436 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 436')

total += tramo_436(436) % 11

def tramo_437(x):
    y = x * 437 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 437')

total += tramo_437(437) % 11

def tramo_438(x):
    y = x * 438 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 438')

total += tramo_438(438) % 11

def tramo_439(x):
    y = x * 439 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 439')

total += tramo_439(439) % 11

def tramo_440(x):
    y = x * 440 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 440')

total += tramo_440(440) % 11

def tramo_441(x):
    y = x * 441 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 441')

total += tramo_441(441) % 11

def tramo_442(x):
    y = x * 442 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 442')

total += tramo_442(442) % 11

def tramo_443(x):
    y = x * 443 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 443')

total += tramo_443(443) % 11

def tramo_444(x):
    y = x * 444 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 444')

total += tramo_444(444) % 11

def tramo_445(x):
    y = x * 445 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 445')

total += tramo_445(445) % 11

def tramo_446(x):
    y = x * 446 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 446')

total += tramo_446(446) % 11

def tramo_447(x):
    y = x * 447 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 447')

total += tramo_447(447) % 11

def tramo_448(x):
    y = x * 448 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 448')

total += tramo_448(448) % 11

def tramo_449(x):
    y = x * 449 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 449')

total += tramo_449(449) % 11

def tramo_450(x):
    y = x * 450 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 450')

total += tramo_450(450) % 11

def tramo_451(x):
    y = x * 451 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 451')

total += tramo_451(451) % 11

def tramo_452(x):
    y = x * 452 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 452')

total += tramo_452(452) % 11

def tramo_453(x):
    y = x * 453 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 453')

total += tramo_453(453) % 11

def tramo_454(x):
    y = x * 454 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 454')

total += tramo_454(454) % 11

def tramo_455(x):
    y = x * 455 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 455')

total += tramo_455(455) % 11

def tramo_456(x):
    y = x * 456 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 456')

total += tramo_456(456) % 11

def tramo_457(x):
    y = x * 457 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 457')

total += tramo_457(457) % 11

def tramo_458(x):
    y = x * 458 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 458')

total += tramo_458(458) % 11

def tramo_459(x):
    y = x * 459 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 459')

total += tramo_459(459) % 11

def tramo_460(x):
    y = x * 460 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 460')

total += tramo_460(460) % 11

def tramo_461(x):
    y = x * 461 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 461')

total += tramo_461(461) % 11

def tramo_462(x):
    y = x * 462 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 462')

total += tramo_462(462) % 11

def tramo_463(x):
    y = x * 463 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 463')

total += tramo_463(463) % 11

def tramo_464(x):
    y = x * 464 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 464')

total += tramo_464(464) % 11

def tramo_465(x):
    y = x * 465 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 465')

total += tramo_465(465) % 11

def tramo_466(x):
    y = x * 466 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 466')

total += tramo_466(466) % 11

def tramo_467(x):
    y = x * 467 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 467')

total += tramo_467(467) % 11

def tramo_468(x):
    y = x * 468 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 468')

total += tramo_468(468) % 11

def tramo_469(x):
    y = x * 469 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 469')

total += tramo_469(469) % 11

def tramo_470(x):
    y = x * 470 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 470')

total += tramo_470(470) % 11

def tramo_471(x):
    y = x * 471 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 471')

total += tramo_471(471) % 11

def tramo_472(x):
    y = x * 472 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 472')

total += tramo_472(472) % 11

def tramo_473(x):
    y = x * 473 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 473')

total += tramo_473(473) % 11

def tramo_474(x):
    y = x * 474 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 474')

total += tramo_474(474) % 11

def tramo_475(x):
    y = x * 475 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 475')

total += tramo_475(475) % 11

def tramo_476(x):
    y = x * 476 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 476')

total += tramo_476(476) % 11

def tramo_477(x):
    y = x * 477 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 477')

total += tramo_477(477) % 11

def tramo_478(x):
    y = x * 478 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 478')

total += tramo_478(478) % 11

def tramo_479(x):
    y = x * 479 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 479')

total += tramo_479(479) % 11

def tramo_480(x):
    y = x * 480 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 480')

total += tramo_480(480) % 11

def tramo_481(x):
    y = x * 481 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 481')

total += tramo_481(481) % 11

def tramo_482(x):
    y = x * 482 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 482')

total += tramo_482(482) % 11

def tramo_483(x):
    y = x * 483 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 483')

total += tramo_483(483) % 11

def tramo_484(x):
    y = x * 484 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 484')

total += tramo_484(484) % 11

def tramo_485(x):
    y = x * 485 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 485')

total += tramo_485(485) % 11

def tramo_486(x):
    y = x * 486 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 486')

total += tramo_486(486) % 11

def tramo_487(x):
    y = x * 487 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 487')

total += tramo_487(487) % 11

def tramo_488(x):
    y = x * 488 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 488')

total += tramo_488(488) % 11

def tramo_489(x):
    y = x * 489 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 489')

total += tramo_489(489) % 11

def tramo_490(x):
    y = x * 490 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 490')

total += tramo_490(490) % 11

def tramo_491(x):
    y = x * 491 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 491')

total += tramo_491(491) % 11

def tramo_492(x):
    y = x * 492 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 492')

total += tramo_492(492) % 11

def tramo_493(x):
    y = x * 493 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 493')

total += tramo_493(493) % 11

def tramo_494(x):
    y = x * 494 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 494')

total += tramo_494(494) % 11

def tramo_495(x):
    y = x * 495 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 495')

total += tramo_495(495) % 11

def tramo_496(x):
    y = x * 496 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 496')

total += tramo_496(496) % 11

def tramo_497(x):
    y = x * 497 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 497')

total += tramo_497(497) % 11

def tramo_498(x):
    y = x * 498 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 498')

total += tramo_498(498) % 11

def tramo_499(x):
    y = x * 499 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 499')

total += tramo_499(499) % 11

def tramo_500(x):
    y = x * 500 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 500')

total += tramo_500(500) % 11

def tramo_501(x):
    y = x * 501 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 501')

total += tramo_501(501) % 11

def tramo_502(x):
    y = x * 502 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 502')

total += tramo_502(502) % 11

def tramo_503(x):
    y = x * 503 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 503')

total += tramo_503(503) % 11

def tramo_504(x):
    y = x * 504 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 504')

total += tramo_504(504) % 11

def tramo_505(x):
    y = x * 505 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 505')

total += tramo_505(505) % 11

def tramo_506(x):
    y = x * 506 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 506')

total += tramo_506(506) % 11

def tramo_507(x):
    y = x * 507 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 507')

total += tramo_507(507) % 11

def tramo_508(x):
    y = x * 508 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 508')

total += tramo_508(508) % 11

def tramo_509(x):
    y = x * 509 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 509')

total += tramo_509(509) % 11

def tramo_510(x):
    y = x * 510 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 510')

total += tramo_510(510) % 11

def tramo_511(x):
    y = x * 511 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 511')

total += tramo_511(511) % 11

def tramo_512(x):
    y = x * 512 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 512')

total += tramo_512(512) % 11

def tramo_513(x):
    y = x * 513 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 513')

total += tramo_513(513) % 11

def tramo_514(x):
    y = x * 514 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 514')

total += tramo_514(514) % 11

def tramo_515(x):
    y = x * 515 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 515')

total += tramo_515(515) % 11

def tramo_516(x):
    y = x * 516 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 516')

total += tramo_516(516) % 11

def tramo_517(x):
    y = x * 517 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 517')

total += tramo_517(517) % 11

def tramo_518(x):
    y = x * 518 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 518')

total += tramo_518(518) % 11

def tramo_519(x):
    y = x * 519 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 519')

total += tramo_519(519) % 11

def tramo_520(x):
    y = x * 520 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 520')

total += tramo_520(520) % 11

def tramo_521(x):
    y = x * 521 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 521')

total += tramo_521(521) % 11

def tramo_522(x):
    y = x * 522 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 522')

total += tramo_522(522) % 11

def tramo_523(x):
    y = x * 523 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 523')

total += tramo_523(523) % 11

def tramo_524(x):
    y = x * 524 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 524')

total += tramo_524(524) % 11

def tramo_525(x):
    y = x * 525 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 525')

total += tramo_525(525) % 11

def tramo_526(x):
    y = x * 526 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 526')

total += tramo_526(526) % 11

def tramo_527(x):
    y = x * 527 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 527')

total += tramo_527(527) % 11

def tramo_528(x):
    y = x * 528 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 528')

total += tramo_528(528) % 11

def tramo_529(x):
    y = x * 529 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 529')

total += tramo_529(529) % 11

def tramo_530(x):
    y = x * 530 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 530')

total += tramo_530(530) % 11

def tramo_531(x):
    y = x * 531 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 531')

total += tramo_531(531) % 11

def tramo_532(x):
    y = x * 532 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 532')

total += tramo_532(532) % 11

def tramo_533(x):
    y = x * 533 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 533')

total += tramo_533(533) % 11

def tramo_534(x):
    y = x * 534 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 534')

total += tramo_534(534) % 11

def tramo_535(x):
    y = x * 535 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 535')

total += tramo_535(535) % 11

def tramo_536(x):
    y = x * 536 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 536')

total += tramo_536(536) % 11

def tramo_537(x):
    y = x * 537 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 537')

total += tramo_537(537) % 11

def tramo_538(x):
    y = x * 538 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 538')

total += tramo_538(538) % 11

def tramo_539(x):
    y = x * 539 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 539')

total += tramo_539(539) % 11

def tramo_540(x):
    y = x * 540 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 540')

total += tramo_540(540) % 11

def tramo_541(x):
    y = x * 541 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 541')

total += tramo_541(541) % 11

def tramo_542(x):
    y = x * 542 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 542')

total += tramo_542(542) % 11

def tramo_543(x):
    y = x * 543 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 543')

total += tramo_543(543) % 11

def tramo_544(x):
    y = x * 544 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 544')

total += tramo_544(544) % 11

def tramo_545(x):
    y = x * 545 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 545')

total += tramo_545(545) % 11

def tramo_546(x):
    y = x * 546 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 546')

total += tramo_546(546) % 11

def tramo_547(x):
    y = x * 547 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 547')

total += tramo_547(547) % 11

def tramo_548(x):
    y = x * 548 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 548')

total += tramo_548(548) % 11

def tramo_549(x):
    y = x * 549 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 549')

total += tramo_549(549) % 11

def tramo_550(x):
    y = x * 550 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 550')

total += tramo_550(550) % 11

def tramo_551(x):
    y = x * 551 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 551')

total += tramo_551(551) % 11

def tramo_552(x):
    y = x * 552 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 552')

total += tramo_552(552) % 11

def tramo_553(x):
    y = x * 553 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 553')

total += tramo_553(553) % 11

def tramo_554(x):
    y = x * 554 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 554')

total += tramo_554(554) % 11

def tramo_555(x):
    y = x * 555 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 555')

total += tramo_555(555) % 11

def tramo_556(x):
    y = x * 556 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 556')

total += tramo_556(556) % 11

def tramo_557(x):
    y = x * 557 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 557')

total += tramo_557(557) % 11

def tramo_558(x):
    y = x * 558 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 558')

total += tramo_558(558) % 11

def tramo_559(x):
    y = x * 559 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 559')

total += tramo_559(559) % 11

def tramo_560(x):
    y = x * 560 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 560')

total += tramo_560(560) % 11

def tramo_561(x):
    y = x * 561 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 561')

total += tramo_561(561) % 11

def tramo_562(x):
    y = x * 562 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 562')

total += tramo_562(562) % 11

def tramo_563(x):
    y = x * 563 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 563')

total += tramo_563(563) % 11

def tramo_564(x):
    y = x * 564 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 564')

total += tramo_564(564) % 11

def tramo_565(x):
    y = x * 565 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 565')

total += tramo_565(565) % 11

def tramo_566(x):
    y = x * 566 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 566')

total += tramo_566(566) % 11

def tramo_567(x):
    y = x * 567 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 567')

total += tramo_567(567) % 11

def tramo_568(x):
    y = x * 568 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 568')

total += tramo_568(568) % 11

def tramo_569(x):
    y = x * 569 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 569')

total += tramo_569(569) % 11

def tramo_570(x):
    y = x * 570 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 570')

total += tramo_570(570) % 11

def tramo_571(x):
    y = x * 571 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 571')

total += tramo_571(571) % 11

def tramo_572(x):
    y = x * 572 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 572')

total += tramo_572(572) % 11

def tramo_573(x):
    y = x * 573 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 573')

total += tramo_573(573) % 11

def tramo_574(x):
    y = x * 574 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 574')

total += tramo_574(574) % 11

def tramo_575(x):
    y = x * 575 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 575')

total += tramo_575(575) % 11

def tramo_576(x):
    y = x * 576 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 576')

total += tramo_576(576) % 11

def tramo_577(x):
    y = x * 577 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 577')

total += tramo_577(577) % 11

def tramo_578(x):
    y = x * 578 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 578')

total += tramo_578(578) % 11

def tramo_579(x):
    y = x * 579 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 579')

total += tramo_579(579) % 11

def tramo_580(x):
    y = x * 580 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 580')

total += tramo_580(580) % 11

def tramo_581(x):
    y = x * 581 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 581')

total += tramo_581(581) % 11

def tramo_582(x):
    y = x * 582 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 582')

total += tramo_582(582) % 11

def tramo_583(x):
    y = x * 583 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 583')

total += tramo_583(583) % 11

def tramo_584(x):
    y = x * 584 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 584')

total += tramo_584(584) % 11

def tramo_585(x):
    y = x * 585 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 585')

total += tramo_585(585) % 11

def tramo_586(x):
    y = x * 586 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 586')

total += tramo_586(586) % 11

def tramo_587(x):
    y = x * 587 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 587')

total += tramo_587(587) % 11

def tramo_588(x):
    y = x * 588 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 588')

total += tramo_588(588) % 11

def tramo_589(x):
    y = x * 589 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 589')

total += tramo_589(589) % 11

def tramo_590(x):
    y = x * 590 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 590')

total += tramo_590(590) % 11

def tramo_591(x):
    y = x * 591 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 591')

total += tramo_591(591) % 11

def tramo_592(x):
    y = x * 592 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 592')

total += tramo_592(592) % 11

def tramo_593(x):
    y = x * 593 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 593')

total += tramo_593(593) % 11

def tramo_594(x):
    y = x * 594 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 594')

total += tramo_594(594) % 11

def tramo_595(x):
    y = x * 595 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 595')

total += tramo_595(595) % 11

def tramo_596(x):
    y = x * 596 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 596')

total += tramo_596(596) % 11

def tramo_597(x):
    y = x * 597 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 597')

total += tramo_597(597) % 11

def tramo_598(x):
    y = x * 598 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 598')

total += tramo_598(598) % 11

def tramo_599(x):
    y = x * 599 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 599')

total += tramo_599(599) % 11

def tramo_600(x):
    y = x * 600 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 600')

total += tramo_600(600) % 11

def tramo_601(x):
    y = x * 601 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 601')

total += tramo_601(601) % 11

def tramo_602(x):
    y = x * 602 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 602')

total += tramo_602(602) % 11

def tramo_603(x):
    y = x * 603 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 603')

total += tramo_603(603) % 11

def tramo_604(x):
    y = x * 604 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 604')

total += tramo_604(604) % 11

def tramo_605(x):
    y = x * 605 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 605')

total += tramo_605(605) % 11

def tramo_606(x):
    y = x * 606 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 606')

total += tramo_606(606) % 11

def tramo_607(x):
    y = x * 607 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 607')

total += tramo_607(607) % 11

def tramo_608(x):
    y = x * 608 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 608')

total += tramo_608(608) % 11

def tramo_609(x):
    y = x * 609 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 609')

total += tramo_609(609) % 11

def tramo_610(x):
    y = x * 610 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 610')

total += tramo_610(610) % 11

def tramo_611(x):
    y = x * 611 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 611')

total += tramo_611(611) % 11

def tramo_612(x):
    y = x * 612 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 612')

total += tramo_612(612) % 11

def tramo_613(x):
    y = x * 613 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 613')

total += tramo_613(613) % 11

def tramo_614(x):
    y = x * 614 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 614')

total += tramo_614(614) % 11

def tramo_615(x):
    y = x * 615 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 615')

total += tramo_615(615) % 11

def tramo_616(x):
    y = x * 616 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 616')

total += tramo_616(616) % 11

def tramo_617(x):
    y = x * 617 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 617')

total += tramo_617(617) % 11

def tramo_618(x):
    y = x * 618 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 618')

total += tramo_618(618) % 11

def tramo_619(x):
    y = x * 619 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 619')

total += tramo_619(619) % 11

def tramo_620(x):
    y = x * 620 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 620')

total += tramo_620(620) % 11

def tramo_621(x):
    y = x * 621 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 621')

total += tramo_621(621) % 11

def tramo_622(x):
    y = x * 622 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 622')

total += tramo_622(622) % 11

def tramo_623(x):
    y = x * 623 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 623')

total += tramo_623(623) % 11

def tramo_624(x):
    y = x * 624 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 624')

total += tramo_624(624) % 11

def tramo_625(x):
    y = x * 625 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 625')

total += tramo_625(625) % 11

def tramo_626(x):
    y = x * 626 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 626')

total += tramo_626(626) % 11

def tramo_627(x):
    y = x * 627 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 627')

total += tramo_627(627) % 11

def tramo_628(x):
    y = x * 628 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 628')

total += tramo_628(628) % 11

def tramo_629(x):
    y = x * 629 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 629')

total += tramo_629(629) % 11

def tramo_630(x):
    y = x * 630 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 630')

total += tramo_630(630) % 11

def tramo_631(x):
    y = x * 631 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 631')

total += tramo_631(631) % 11

def tramo_632(x):
    y = x * 632 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 632')

total += tramo_632(632) % 11

def tramo_633(x):
    y = x * 633 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 633')

total += tramo_633(633) % 11

def tramo_634(x):
    y = x * 634 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 634')

total += tramo_634(634) % 11

def tramo_635(x):
    y = x * 635 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 635')

total += tramo_635(635) % 11

def tramo_636(x):
    y = x * 636 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 636')

total += tramo_636(636) % 11

def tramo_637(x):
    y = x * 637 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 637')

total += tramo_637(637) % 11

def tramo_638(x):
    y = x * 638 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 638')

total += tramo_638(638) % 11

def tramo_639(x):
    y = x * 639 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 639')

total += tramo_639(639) % 11

def tramo_640(x):
    y = x * 640 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 640')

total += tramo_640(640) % 11

def tramo_641(x):
    y = x * 641 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 641')

total += tramo_641(641) % 11

def tramo_642(x):
    y = x * 642 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 642')

total += tramo_642(642) % 11

def tramo_643(x):
    y = x * 643 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 643')

total += tramo_643(643) % 11

def tramo_644(x):
    y = x * 644 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 644')

total += tramo_644(644) % 11

def tramo_645(x):
    y = x * 645 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 645')

total += tramo_645(645) % 11

def tramo_646(x):
    y = x * 646 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 646')

total += tramo_646(646) % 11

def tramo_647(x):
    y = x * 647 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 647')

total += tramo_647(647) % 11

def tramo_648(x):
    y = x * 648 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 648')

total += tramo_648(648) % 11

def tramo_649(x):
    y = x * 649 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 649')

total += tramo_649(649) % 11

def tramo_650(x):
    y = x * 650 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 650')

total += tramo_650(650) % 11

def tramo_651(x):
    y = x * 651 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 651')

total += tramo_651(651) % 11

def tramo_652(x):
    y = x * 652 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 652')

total += tramo_652(652) % 11

def tramo_653(x):
    y = x * 653 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 653')

total += tramo_653(653) % 11

def tramo_654(x):
    y = x * 654 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 654')

total += tramo_654(654) % 11

def tramo_655(x):
    y = x * 655 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 655')

total += tramo_655(655) % 11

def tramo_656(x):
    y = x * 656 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 656')

total += tramo_656(656) % 11

def tramo_657(x):
    y = x * 657 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 657')

total += tramo_657(657) % 11

def tramo_658(x):
    y = x * 658 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 658')

total += tramo_658(658) % 11

def tramo_659(x):
    y = x * 659 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 659')

total += tramo_659(659) % 11

def tramo_660(x):
    y = x * 660 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 660')

total += tramo_660(660) % 11

def tramo_661(x):
    y = x * 661 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 661')

total += tramo_661(661) % 11

def tramo_662(x):
    y = x * 662 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 662')

total += tramo_662(662) % 11

def tramo_663(x):
    y = x * 663 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 663')

total += tramo_663(663) % 11

def tramo_664(x):
    y = x * 664 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 664')

total += tramo_664(664) % 11

def tramo_665(x):
    y = x * 665 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 665')

total += tramo_665(665) % 11

def tramo_666(x):
    y = x * 666 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 666')

total += tramo_666(666) % 11

def tramo_667(x):
    y = x * 667 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 667')

total += tramo_667(667) % 11

def tramo_668(x):
    y = x * 668 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 668')

total += tramo_668(668) % 11

def tramo_669(x):
    y = x * 669 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 669')

total += tramo_669(669) % 11

def tramo_670(x):
    y = x * 670 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 670')

total += tramo_670(670) % 11

def tramo_671(x):
    y = x * 671 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 671')

total += tramo_671(671) % 11

def tramo_672(x):
    y = x * 672 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 672')

total += tramo_672(672) % 11

def tramo_673(x):
    y = x * 673 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 673')

total += tramo_673(673) % 11

def tramo_674(x):
    y = x * 674 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 674')

total += tramo_674(674) % 11

def tramo_675(x):
    y = x * 675 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 675')

total += tramo_675(675) % 11

def tramo_676(x):
    y = x * 676 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 676')

total += tramo_676(676) % 11

def tramo_677(x):
    y = x * 677 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 677')

total += tramo_677(677) % 11

def tramo_678(x):
    y = x * 678 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 678')

total += tramo_678(678) % 11

def tramo_679(x):
    y = x * 679 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 679')

total += tramo_679(679) % 11

def tramo_680(x):
    y = x * 680 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 680')

total += tramo_680(680) % 11

def tramo_681(x):
    y = x * 681 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 681')

total += tramo_681(681) % 11

def tramo_682(x):
    y = x * 682 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 682')

total += tramo_682(682) % 11

def tramo_683(x):
    y = x * 683 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 683')

total += tramo_683(683) % 11

def tramo_684(x):
    y = x * 684 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 684')

total += tramo_684(684) % 11

def tramo_685(x):
    y = x * 685 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 685')

total += tramo_685(685) % 11

def tramo_686(x):
    y = x * 686 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 686')

total += tramo_686(686) % 11

def tramo_687(x):
    y = x * 687 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 687')

total += tramo_687(687) % 11

def tramo_688(x):
    y = x * 688 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 688')

total += tramo_688(688) % 11

def tramo_689(x):
    y = x * 689 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 689')

total += tramo_689(689) % 11

def tramo_690(x):
    y = x * 690 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 690')

total += tramo_690(690) % 11

def tramo_691(x):
    y = x * 691 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 691')

total += tramo_691(691) % 11

def tramo_692(x):
    y = x * 692 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 692')

total += tramo_692(692) % 11

def tramo_693(x):
    y = x * 693 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 693')

total += tramo_693(693) % 11

def tramo_694(x):
    y = x * 694 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 694')

total += tramo_694(694) % 11

def tramo_695(x):
    y = x * 695 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 695')

total += tramo_695(695) % 11

def tramo_696(x):
    y = x * 696 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 696')

total += tramo_696(696) % 11

def tramo_697(x):
    y = x * 697 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 697')

total += tramo_697(697) % 11

def tramo_698(x):
    y = x * 698 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 698')

total += tramo_698(698) % 11

def tramo_699(x):
    y = x * 699 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 699')

total += tramo_699(699) % 11

def tramo_700(x):
    y = x * 700 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 700')

total += tramo_700(700) % 11

def tramo_701(x):
    y = x * 701 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 701')

total += tramo_701(701) % 11

def tramo_702(x):
    y = x * 702 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 702')

total += tramo_702(702) % 11

def tramo_703(x):
    y = x * 703 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 703')

total += tramo_703(703) % 11

def tramo_704(x):
    y = x * 704 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 704')

total += tramo_704(704) % 11

def tramo_705(x):
    y = x * 705 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 705')

total += tramo_705(705) % 11

def tramo_706(x):
    y = x * 706 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 706')

total += tramo_706(706) % 11

def tramo_707(x):
    y = x * 707 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 707')

total += tramo_707(707) % 11

def tramo_708(x):
    y = x * 708 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 708')

total += tramo_708(708) % 11

def tramo_709(x):
    y = x * 709 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 709')

total += tramo_709(709) % 11

def tramo_710(x):
    y = x * 710 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 710')

total += tramo_710(710) % 11

def tramo_711(x):
    y = x * 711 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 711')

total += tramo_711(711) % 11

def tramo_712(x):
    y = x * 712 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 712')

total += tramo_712(712) % 11

def tramo_713(x):
    y = x * 713 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 713')

total += tramo_713(713) % 11

def tramo_714(x):
    y = x * 714 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 714')

total += tramo_714(714) % 11

def tramo_715(x):
    y = x * 715 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 715')

total += tramo_715(715) % 11

def tramo_716(x):
    y = x * 716 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 716')

total += tramo_716(716) % 11

def tramo_717(x):
    y = x * 717 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 717')

total += tramo_717(717) % 11

def tramo_718(x):
    y = x * 718 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 718')

total += tramo_718(718) % 11

def tramo_719(x):
    y = x * 719 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 719')

total += tramo_719(719) % 11

def tramo_720(x):
    y = x * 720 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 720')

total += tramo_720(720) % 11

def tramo_721(x):
    y = x * 721 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 721')

total += tramo_721(721) % 11

def tramo_722(x):
    y = x * 722 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 722')

total += tramo_722(722) % 11

def tramo_723(x):
    y = x * 723 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 723')

total += tramo_723(723) % 11

def tramo_724(x):
    y = x * 724 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 724')

total += tramo_724(724) % 11

def tramo_725(x):
    y = x * 725 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 725')

total += tramo_725(725) % 11

def tramo_726(x):
    y = x * 726 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 726')

total += tramo_726(726) % 11

def tramo_727(x):
    y = x * 727 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 727')

total += tramo_727(727) % 11

def tramo_728(x):
    y = x * 728 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 728')

total += tramo_728(728) % 11

def tramo_729(x):
    y = x * 729 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 729')

total += tramo_729(729) % 11

def tramo_730(x):
    y = x * 730 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 730')

total += tramo_730(730) % 11

def tramo_731(x):
    y = x * 731 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 731')

total += tramo_731(731) % 11

def tramo_732(x):
    y = x * 732 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 732')

total += tramo_732(732) % 11

def tramo_733(x):
    y = x * 733 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 733')

total += tramo_733(733) % 11

def tramo_734(x):
    y = x * 734 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 734')

total += tramo_734(734) % 11

def tramo_735(x):
    y = x * 735 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 735')

total += tramo_735(735) % 11

def tramo_736(x):
    y = x * 736 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 736')

total += tramo_736(736) % 11

def tramo_737(x):
    y = x * 737 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 737')

total += tramo_737(737) % 11

def tramo_738(x):
    y = x * 738 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 738')

total += tramo_738(738) % 11

def tramo_739(x):
    y = x * 739 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 739')

total += tramo_739(739) % 11

def tramo_740(x):
    y = x * 740 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 740')

total += tramo_740(740) % 11

def tramo_741(x):
    y = x * 741 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 741')

total += tramo_741(741) % 11

def tramo_742(x):
    y = x * 742 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 742')

total += tramo_742(742) % 11

def tramo_743(x):
    y = x * 743 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 743')

total += tramo_743(743) % 11

def tramo_744(x):
    y = x * 744 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 744')

total += tramo_744(744) % 11

def tramo_745(x):
    y = x * 745 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 745')

total += tramo_745(745) % 11

def tramo_746(x):
    y = x * 746 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 746')

total += tramo_746(746) % 11

def tramo_747(x):
    y = x * 747 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 747')

total += tramo_747(747) % 11

def tramo_748(x):
    y = x * 748 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 748')

total += tramo_748(748) % 11

def tramo_749(x):
    y = x * 749 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 749')

total += tramo_749(749) % 11

def tramo_750(x):
    y = x * 750 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 750')

total += tramo_750(750) % 11

def tramo_751(x):
    y = x * 751 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 751')

total += tramo_751(751) % 11

def tramo_752(x):
    y = x * 752 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 752')

total += tramo_752(752) % 11

def tramo_753(x):
    y = x * 753 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 753')

total += tramo_753(753) % 11

def tramo_754(x):
    y = x * 754 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 754')

total += tramo_754(754) % 11

def tramo_755(x):
    y = x * 755 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 755')

total += tramo_755(755) % 11

def tramo_756(x):
    y = x * 756 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 756')

total += tramo_756(756) % 11

def tramo_757(x):
    y = x * 757 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 757')

total += tramo_757(757) % 11

def tramo_758(x):
    y = x * 758 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 758')

total += tramo_758(758) % 11

def tramo_759(x):
    y = x * 759 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 759')

total += tramo_759(759) % 11

def tramo_760(x):
    y = x * 760 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 760')

total += tramo_760(760) % 11

def tramo_761(x):
    y = x * 761 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 761')

total += tramo_761(761) % 11

def tramo_762(x):
    y = x * 762 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 762')

total += tramo_762(762) % 11

def tramo_763(x):
    y = x * 763 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 763')

total += tramo_763(763) % 11

def tramo_764(x):
    y = x * 764 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 764')

total += tramo_764(764) % 11

def tramo_765(x):
    y = x * 765 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 765')

total += tramo_765(765) % 11

def tramo_766(x):
    y = x * 766 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 766')

total += tramo_766(766) % 11

def tramo_767(x):
    y = x * 767 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 767')

total += tramo_767(767) % 11

def tramo_768(x):
    y = x * 768 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 768')

total += tramo_768(768) % 11

def tramo_769(x):
    y = x * 769 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 769')

total += tramo_769(769) % 11

def tramo_770(x):
    y = x * 770 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 770')

total += tramo_770(770) % 11

def tramo_771(x):
    y = x * 771 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 771')

total += tramo_771(771) % 11

def tramo_772(x):
    y = x * 772 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 772')

total += tramo_772(772) % 11

def tramo_773(x):
    y = x * 773 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 773')

total += tramo_773(773) % 11

def tramo_774(x):
    y = x * 774 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 774')

total += tramo_774(774) % 11

def tramo_775(x):
    y = x * 775 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 775')

total += tramo_775(775) % 11

def tramo_776(x):
    y = x * 776 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 776')

total += tramo_776(776) % 11

def tramo_777(x):
    y = x * 777 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 777')

total += tramo_777(777) % 11

def tramo_778(x):
    y = x * 778 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 778')

total += tramo_778(778) % 11

def tramo_779(x):
    y = x * 779 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 779')

total += tramo_779(779) % 11

def tramo_780(x):
    y = x * 780 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 780')

total += tramo_780(780) % 11

def tramo_781(x):
    y = x * 781 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 781')

total += tramo_781(781) % 11

def tramo_782(x):
    y = x * 782 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 782')

total += tramo_782(782) % 11

def tramo_783(x):
    y = x * 783 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 783')

total += tramo_783(783) % 11

def tramo_784(x):
    y = x * 784 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 784')

total += tramo_784(784) % 11

def tramo_785(x):
    y = x * 785 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 785')

total += tramo_785(785) % 11

def tramo_786(x):
    y = x * 786 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 786')

total += tramo_786(786) % 11

def tramo_787(x):
    y = x * 787 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 787')

total += tramo_787(787) % 11

def tramo_788(x):
    y = x * 788 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 788')

total += tramo_788(788) % 11

def tramo_789(x):
    y = x * 789 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 789')

total += tramo_789(789) % 11

def tramo_790(x):
    y = x * 790 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 790')

total += tramo_790(790) % 11

def tramo_791(x):
    y = x * 791 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 791')

total += tramo_791(791) % 11

def tramo_792(x):
    y = x * 792 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 792')

total += tramo_792(792) % 11

def tramo_793(x):
    y = x * 793 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 793')

total += tramo_793(793) % 11

def tramo_794(x):
    y = x * 794 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 794')

total += tramo_794(794) % 11

def tramo_795(x):
    y = x * 795 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 795')

total += tramo_795(795) % 11

def tramo_796(x):
    y = x * 796 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 796')

total += tramo_796(796) % 11

def tramo_797(x):
    y = x * 797 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 797')

total += tramo_797(797) % 11

def tramo_798(x):
    y = x * 798 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 798')

total += tramo_798(798) % 11

def tramo_799(x):
    y = x * 799 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 799')

total += tramo_799(799) % 11

def tramo_800(x):
    y = x * 800 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 800')

total += tramo_800(800) % 11

def tramo_801(x):
    y = x * 801 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 801')

total += tramo_801(801) % 11

def tramo_802(x):
    y = x * 802 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 802')

total += tramo_802(802) % 11

def tramo_803(x):
    y = x * 803 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 803')

total += tramo_803(803) % 11

def tramo_804(x):
    y = x * 804 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 804')

total += tramo_804(804) % 11

def tramo_805(x):
    y = x * 805 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 805')

total += tramo_805(805) % 11

def tramo_806(x):
    y = x * 806 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 806')

total += tramo_806(806) % 11

def tramo_807(x):
    y = x * 807 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 807')

total += tramo_807(807) % 11

def tramo_808(x):
    y = x * 808 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 808')

total += tramo_808(808) % 11

def tramo_809(x):
    y = x * 809 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 809')

total += tramo_809(809) % 11

def tramo_810(x):
    y = x * 810 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 810')

total += tramo_810(810) % 11

def tramo_811(x):
    y = x * 811 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 811')

total += tramo_811(811) % 11

def tramo_812(x):
    y = x * 812 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 812')

total += tramo_812(812) % 11

def tramo_813(x):
    y = x * 813 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 813')

total += tramo_813(813) % 11

def tramo_814(x):
    y = x * 814 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 814')

total += tramo_814(814) % 11

def tramo_815(x):
    y = x * 815 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 815')

total += tramo_815(815) % 11

def tramo_816(x):
    y = x * 816 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 816')

total += tramo_816(816) % 11

def tramo_817(x):
    y = x * 817 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 817')

total += tramo_817(817) % 11

def tramo_818(x):
    y = x * 818 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 818')

total += tramo_818(818) % 11

def tramo_819(x):
    y = x * 819 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 819')

total += tramo_819(819) % 11

def tramo_820(x):
    y = x * 820 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 820')

total += tramo_820(820) % 11

def tramo_821(x):
    y = x * 821 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 821')

total += tramo_821(821) % 11

def tramo_822(x):
    y = x * 822 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 822')

total += tramo_822(822) % 11

def tramo_823(x):
    y = x * 823 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 823')

total += tramo_823(823) % 11

def tramo_824(x):
    y = x * 824 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 824')

total += tramo_824(824) % 11

def tramo_825(x):
    y = x * 825 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 825')

total += tramo_825(825) % 11

def tramo_826(x):
    y = x * 826 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 826')

total += tramo_826(826) % 11

def tramo_827(x):
    y = x * 827 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 827')

total += tramo_827(827) % 11

def tramo_828(x):
    y = x * 828 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 828')

total += tramo_828(828) % 11

def tramo_829(x):
    y = x * 829 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 829')

total += tramo_829(829) % 11

def tramo_830(x):
    y = x * 830 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 830')

total += tramo_830(830) % 11

def tramo_831(x):
    y = x * 831 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 831')

total += tramo_831(831) % 11

def tramo_832(x):
    y = x * 832 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 832')

total += tramo_832(832) % 11

def tramo_833(x):
    y = x * 833 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 833')

total += tramo_833(833) % 11

def tramo_834(x):
    y = x * 834 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 834')

total += tramo_834(834) % 11

def tramo_835(x):
    y = x * 835 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 835')

total += tramo_835(835) % 11

def tramo_836(x):
    y = x * 836 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 836')

total += tramo_836(836) % 11

def tramo_837(x):
    y = x * 837 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 837')

total += tramo_837(837) % 11

def tramo_838(x):
    y = x * 838 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 838')

total += tramo_838(838) % 11

def tramo_839(x):
    y = x * 839 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 839')

total += tramo_839(839) % 11

def tramo_840(x):
    y = x * 840 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 840')

total += tramo_840(840) % 11

def tramo_841(x):
    y = x * 841 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 841')

total += tramo_841(841) % 11

def tramo_842(x):
    y = x * 842 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 842')

total += tramo_842(842) % 11

def tramo_843(x):
    y = x * 843 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 843')

total += tramo_843(843) % 11

def tramo_844(x):
    y = x * 844 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 844')

total += tramo_844(844) % 11

def tramo_845(x):
    y = x * 845 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 845')

total += tramo_845(845) % 11

def tramo_846(x):
    y = x * 846 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 846')

total += tramo_846(846) % 11

def tramo_847(x):
    y = x * 847 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 847')

total += tramo_847(847) % 11

def tramo_848(x):
    y = x * 848 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 848')

total += tramo_848(848) % 11

def tramo_849(x):
    y = x * 849 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 849')

total += tramo_849(849) % 11

def tramo_850(x):
    y = x * 850 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 850')

total += tramo_850(850) % 11

def tramo_851(x):
    y = x * 851 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 851')

total += tramo_851(851) % 11

def tramo_852(x):
    y = x * 852 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 852')

total += tramo_852(852) % 11

def tramo_853(x):
    y = x * 853 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 853')

total += tramo_853(853) % 11

def tramo_854(x):
    y = x * 854 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 854')

total += tramo_854(854) % 11

def tramo_855(x):
    y = x * 855 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 855')

total += tramo_855(855) % 11

def tramo_856(x):
    y = x * 856 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 856')

total += tramo_856(856) % 11

def tramo_857(x):
    y = x * 857 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 857')

total += tramo_857(857) % 11

def tramo_858(x):
    y = x * 858 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 858')

total += tramo_858(858) % 11

def tramo_859(x):
    y = x * 859 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 859')

total += tramo_859(859) % 11

def tramo_860(x):
    y = x * 860 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 860')

total += tramo_860(860) % 11

def tramo_861(x):
    y = x * 861 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 861')

total += tramo_861(861) % 11

def tramo_862(x):
    y = x * 862 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 862')

total += tramo_862(862) % 11

def tramo_863(x):
    y = x * 863 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 863')

total += tramo_863(863) % 11

def tramo_864(x):
    y = x * 864 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 864')

total += tramo_864(864) % 11

def tramo_865(x):
    y = x * 865 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 865')

total += tramo_865(865) % 11

def tramo_866(x):
    y = x * 866 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 866')

total += tramo_866(866) % 11

def tramo_867(x):
    y = x * 867 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 867')

total += tramo_867(867) % 11

def tramo_868(x):
    y = x * 868 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 868')

total += tramo_868(868) % 11

def tramo_869(x):
    y = x * 869 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 869')

total += tramo_869(869) % 11

def tramo_870(x):
    y = x * 870 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 870')

total += tramo_870(870) % 11

def tramo_871(x):
    y = x * 871 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 871')

total += tramo_871(871) % 11

def tramo_872(x):
    y = x * 872 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 872')

total += tramo_872(872) % 11

def tramo_873(x):
    y = x * 873 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 873')

total += tramo_873(873) % 11

def tramo_874(x):
    y = x * 874 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 874')

total += tramo_874(874) % 11

def tramo_875(x):
    y = x * 875 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 875')

total += tramo_875(875) % 11

def tramo_876(x):
    y = x * 876 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 876')

total += tramo_876(876) % 11

def tramo_877(x):
    y = x * 877 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 877')

total += tramo_877(877) % 11

def tramo_878(x):
    y = x * 878 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 878')

total += tramo_878(878) % 11

def tramo_879(x):
    y = x * 879 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 879')

total += tramo_879(879) % 11

def tramo_880(x):
    y = x * 880 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 880')

total += tramo_880(880) % 11

def tramo_881(x):
    y = x * 881 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 881')

total += tramo_881(881) % 11

def tramo_882(x):
    y = x * 882 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 882')

total += tramo_882(882) % 11

def tramo_883(x):
    y = x * 883 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 883')

total += tramo_883(883) % 11

def tramo_884(x):
    y = x * 884 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 884')

total += tramo_884(884) % 11

def tramo_885(x):
    y = x * 885 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 885')

total += tramo_885(885) % 11

def tramo_886(x):
    y = x * 886 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 886')

total += tramo_886(886) % 11

def tramo_887(x):
    y = x * 887 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 887')

total += tramo_887(887) % 11

def tramo_888(x):
    y = x * 888 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 888')

total += tramo_888(888) % 11

def tramo_889(x):
    y = x * 889 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 889')

total += tramo_889(889) % 11

def tramo_890(x):
    y = x * 890 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 890')

total += tramo_890(890) % 11

def tramo_891(x):
    y = x * 891 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 891')

total += tramo_891(891) % 11

def tramo_892(x):
    y = x * 892 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 892')

total += tramo_892(892) % 11

def tramo_893(x):
    y = x * 893 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 893')

total += tramo_893(893) % 11

def tramo_894(x):
    y = x * 894 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 894')

total += tramo_894(894) % 11

def tramo_895(x):
    y = x * 895 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 895')

total += tramo_895(895) % 11

def tramo_896(x):
    y = x * 896 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 896')

total += tramo_896(896) % 11

def tramo_897(x):
    y = x * 897 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 897')

total += tramo_897(897) % 11

def tramo_898(x):
    y = x * 898 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 898')

total += tramo_898(898) % 11

def tramo_899(x):
    y = x * 899 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 899')

total += tramo_899(899) % 11

def tramo_900(x):
    y = x * 900 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 900')

total += tramo_900(900) % 11

def tramo_901(x):
    y = x * 901 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 901')

total += tramo_901(901) % 11

def tramo_902(x):
    y = x * 902 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 902')

total += tramo_902(902) % 11

def tramo_903(x):
    y = x * 903 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 903')

total += tramo_903(903) % 11

def tramo_904(x):
    y = x * 904 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 904')

total += tramo_904(904) % 11

def tramo_905(x):
    y = x * 905 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 905')

total += tramo_905(905) % 11

def tramo_906(x):
    y = x * 906 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 906')

total += tramo_906(906) % 11

def tramo_907(x):
    y = x * 907 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 907')

total += tramo_907(907) % 11

def tramo_908(x):
    y = x * 908 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 908')

total += tramo_908(908) % 11

def tramo_909(x):
    y = x * 909 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 909')

total += tramo_909(909) % 11

def tramo_910(x):
    y = x * 910 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 910')

total += tramo_910(910) % 11

def tramo_911(x):
    y = x * 911 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 911')

total += tramo_911(911) % 11

def tramo_912(x):
    y = x * 912 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 912')

total += tramo_912(912) % 11

def tramo_913(x):
    y = x * 913 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 913')

total += tramo_913(913) % 11

def tramo_914(x):
    y = x * 914 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 914')

total += tramo_914(914) % 11

def tramo_915(x):
    y = x * 915 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 915')

total += tramo_915(915) % 11

def tramo_916(x):
    y = x * 916 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 916')

total += tramo_916(916) % 11

def tramo_917(x):
    y = x * 917 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 917')

total += tramo_917(917) % 11

def tramo_918(x):
    y = x * 918 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 918')

total += tramo_918(918) % 11

def tramo_919(x):
    y = x * 919 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 919')

total += tramo_919(919) % 11

def tramo_920(x):
    y = x * 920 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 920')

total += tramo_920(920) % 11

def tramo_921(x):
    y = x * 921 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 921')

total += tramo_921(921) % 11

def tramo_922(x):
    y = x * 922 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 922')

total += tramo_922(922) % 11

def tramo_923(x):
    y = x * 923 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 923')

total += tramo_923(923) % 11

def tramo_924(x):
    y = x * 924 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 924')

total += tramo_924(924) % 11

def tramo_925(x):
    y = x * 925 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 925')

total += tramo_925(925) % 11

def tramo_926(x):
    y = x * 926 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 926')

total += tramo_926(926) % 11

def tramo_927(x):
    y = x * 927 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 927')

total += tramo_927(927) % 11

def tramo_928(x):
    y = x * 928 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 928')

total += tramo_928(928) % 11

def tramo_929(x):
    y = x * 929 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 929')

total += tramo_929(929) % 11

def tramo_930(x):
    y = x * 930 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 930')

total += tramo_930(930) % 11

def tramo_931(x):
    y = x * 931 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 931')

total += tramo_931(931) % 11

def tramo_932(x):
    y = x * 932 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 932')

total += tramo_932(932) % 11

def tramo_933(x):
    y = x * 933 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 933')

total += tramo_933(933) % 11

def tramo_934(x):
    y = x * 934 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 934')

total += tramo_934(934) % 11

def tramo_935(x):
    y = x * 935 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 935')

total += tramo_935(935) % 11

def tramo_936(x):
    y = x * 936 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 936')

total += tramo_936(936) % 11

def tramo_937(x):
    y = x * 937 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 937')

total += tramo_937(937) % 11

def tramo_938(x):
    y = x * 938 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 938')

total += tramo_938(938) % 11

def tramo_939(x):
    y = x * 939 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 939')

total += tramo_939(939) % 11

def tramo_940(x):
    y = x * 940 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 940')

total += tramo_940(940) % 11

def tramo_941(x):
    y = x * 941 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 941')

total += tramo_941(941) % 11

def tramo_942(x):
    y = x * 942 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 942')

total += tramo_942(942) % 11

def tramo_943(x):
    y = x * 943 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 943')

total += tramo_943(943) % 11

def tramo_944(x):
    y = x * 944 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 944')

total += tramo_944(944) % 11

def tramo_945(x):
    y = x * 945 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 945')

total += tramo_945(945) % 11

def tramo_946(x):
    y = x * 946 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 946')

total += tramo_946(946) % 11

def tramo_947(x):
    y = x * 947 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 947')

total += tramo_947(947) % 11

def tramo_948(x):
    y = x * 948 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 948')

total += tramo_948(948) % 11

def tramo_949(x):
    y = x * 949 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 949')

total += tramo_949(949) % 11

def tramo_950(x):
    y = x * 950 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 950')

total += tramo_950(950) % 11

def tramo_951(x):
    y = x * 951 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 951')

total += tramo_951(951) % 11

def tramo_952(x):
    y = x * 952 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 952')

total += tramo_952(952) % 11

def tramo_953(x):
    y = x * 953 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 953')

total += tramo_953(953) % 11

def tramo_954(x):
    y = x * 954 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 954')

total += tramo_954(954) % 11

def tramo_955(x):
    y = x * 955 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 955')

total += tramo_955(955) % 11

def tramo_956(x):
    y = x * 956 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 956')

total += tramo_956(956) % 11

def tramo_957(x):
    y = x * 957 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 957')

total += tramo_957(957) % 11

def tramo_958(x):
    y = x * 958 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 958')

total += tramo_958(958) % 11

def tramo_959(x):
    y = x * 959 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 959')

total += tramo_959(959) % 11

def tramo_960(x):
    y = x * 960 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 960')

total += tramo_960(960) % 11

def tramo_961(x):
    y = x * 961 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 961')

total += tramo_961(961) % 11

def tramo_962(x):
    y = x * 962 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 962')

total += tramo_962(962) % 11

def tramo_963(x):
    y = x * 963 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 963')

total += tramo_963(963) % 11

def tramo_964(x):
    y = x * 964 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 964')

total += tramo_964(964) % 11

def tramo_965(x):
    y = x * 965 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 965')

total += tramo_965(965) % 11

def tramo_966(x):
    y = x * 966 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 966')

total += tramo_966(966) % 11

def tramo_967(x):
    y = x * 967 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 967')

total += tramo_967(967) % 11

def tramo_968(x):
    y = x * 968 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 968')

total += tramo_968(968) % 11

def tramo_969(x):
    y = x * 969 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 969')

total += tramo_969(969) % 11

def tramo_970(x):
    y = x * 970 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 970')

total += tramo_970(970) % 11

def tramo_971(x):
    y = x * 971 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 971')

total += tramo_971(971) % 11

def tramo_972(x):
    y = x * 972 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 972')

total += tramo_972(972) % 11

def tramo_973(x):
    y = x * 973 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 973')

total += tramo_973(973) % 11

def tramo_974(x):
    y = x * 974 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 974')

total += tramo_974(974) % 11

def tramo_975(x):
    y = x * 975 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 975')

total += tramo_975(975) % 11

def tramo_976(x):
    y = x * 976 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 976')

total += tramo_976(976) % 11

def tramo_977(x):
    y = x * 977 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 977')

total += tramo_977(977) % 11

def tramo_978(x):
    y = x * 978 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 978')

total += tramo_978(978) % 11

def tramo_979(x):
    y = x * 979 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 979')

total += tramo_979(979) % 11

def tramo_980(x):
    y = x * 980 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 980')

total += tramo_980(980) % 11

def tramo_981(x):
    y = x * 981 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 981')

total += tramo_981(981) % 11

def tramo_982(x):
    y = x * 982 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 982')

total += tramo_982(982) % 11

def tramo_983(x):
    y = x * 983 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 983')

total += tramo_983(983) % 11

def tramo_984(x):
    y = x * 984 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 984')

total += tramo_984(984) % 11

def tramo_985(x):
    y = x * 985 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 985')

total += tramo_985(985) % 11

def tramo_986(x):
    y = x * 986 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 986')

total += tramo_986(986) % 11

def tramo_987(x):
    y = x * 987 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 987')

total += tramo_987(987) % 11

def tramo_988(x):
    y = x * 988 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 988')

total += tramo_988(988) % 11

def tramo_989(x):
    y = x * 989 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 989')

total += tramo_989(989) % 11

def tramo_990(x):
    y = x * 990 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 990')

total += tramo_990(990) % 11

def tramo_991(x):
    y = x * 991 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 991')

total += tramo_991(991) % 11

def tramo_992(x):
    y = x * 992 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 992')

total += tramo_992(992) % 11

def tramo_993(x):
    y = x * 993 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 993')

total += tramo_993(993) % 11

def tramo_994(x):
    y = x * 994 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 994')

total += tramo_994(994) % 11

def tramo_995(x):
    y = x * 995 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 995')

total += tramo_995(995) % 11

def tramo_996(x):
    y = x * 996 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 996')

total += tramo_996(996) % 11

def tramo_997(x):
    y = x * 997 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 997')

total += tramo_997(997) % 11

def tramo_998(x):
    y = x * 998 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 998')

total += tramo_998(998) % 11

def tramo_999(x):
    y = x * 999 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 999')

total += tramo_999(999) % 11

def tramo_1000(x):
    y = x * 1000 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1000')

total += tramo_1000(1000) % 11

def tramo_1001(x):
    y = x * 1001 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1001')

total += tramo_1001(1001) % 11

def tramo_1002(x):
    y = x * 1002 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1002')

total += tramo_1002(1002) % 11

def tramo_1003(x):
    y = x * 1003 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1003')

total += tramo_1003(1003) % 11

def tramo_1004(x):
    y = x * 1004 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1004')

total += tramo_1004(1004) % 11

def tramo_1005(x):
    y = x * 1005 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1005')

total += tramo_1005(1005) % 11

def tramo_1006(x):
    y = x * 1006 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1006')

total += tramo_1006(1006) % 11

def tramo_1007(x):
    y = x * 1007 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1007')

total += tramo_1007(1007) % 11

def tramo_1008(x):
    y = x * 1008 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1008')

total += tramo_1008(1008) % 11

def tramo_1009(x):
    y = x * 1009 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1009')

total += tramo_1009(1009) % 11

def tramo_1010(x):
    y = x * 1010 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1010')

total += tramo_1010(1010) % 11

def tramo_1011(x):
    y = x * 1011 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1011')

total += tramo_1011(1011) % 11

def tramo_1012(x):
    y = x * 1012 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1012')

total += tramo_1012(1012) % 11

def tramo_1013(x):
    y = x * 1013 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1013')

total += tramo_1013(1013) % 11

def tramo_1014(x):
    y = x * 1014 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1014')

total += tramo_1014(1014) % 11

def tramo_1015(x):
    y = x * 1015 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1015')

total += tramo_1015(1015) % 11

def tramo_1016(x):
    y = x * 1016 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1016')

total += tramo_1016(1016) % 11

def tramo_1017(x):
    y = x * 1017 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1017')

total += tramo_1017(1017) % 11

def tramo_1018(x):
    y = x * 1018 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1018')

total += tramo_1018(1018) % 11

def tramo_1019(x):
    y = x * 1019 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1019')

total += tramo_1019(1019) % 11

def tramo_1020(x):
    y = x * 1020 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1020')

total += tramo_1020(1020) % 11

def tramo_1021(x):
    y = x * 1021 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1021')

total += tramo_1021(1021) % 11

def tramo_1022(x):
    y = x * 1022 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1022')

total += tramo_1022(1022) % 11

def tramo_1023(x):
    y = x * 1023 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1023')

total += tramo_1023(1023) % 11

def tramo_1024(x):
    y = x * 1024 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1024')

total += tramo_1024(1024) % 11

def tramo_1025(x):
    y = x * 1025 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1025')

total += tramo_1025(1025) % 11

def tramo_1026(x):
    y = x * 1026 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1026')

total += tramo_1026(1026) % 11

def tramo_1027(x):
    y = x * 1027 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1027')

total += tramo_1027(1027) % 11

def tramo_1028(x):
    y = x * 1028 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1028')

total += tramo_1028(1028) % 11

def tramo_1029(x):
    y = x * 1029 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1029')

total += tramo_1029(1029) % 11

def tramo_1030(x):
    y = x * 1030 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1030')

total += tramo_1030(1030) % 11

def tramo_1031(x):
    y = x * 1031 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1031')

total += tramo_1031(1031) % 11

def tramo_1032(x):
    y = x * 1032 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1032')

total += tramo_1032(1032) % 11

def tramo_1033(x):
    y = x * 1033 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1033')

total += tramo_1033(1033) % 11

def tramo_1034(x):
    y = x * 1034 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1034')

total += tramo_1034(1034) % 11

def tramo_1035(x):
    y = x * 1035 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1035')

total += tramo_1035(1035) % 11

def tramo_1036(x):
    y = x * 1036 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1036')

total += tramo_1036(1036) % 11

def tramo_1037(x):
    y = x * 1037 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1037')

total += tramo_1037(1037) % 11

def tramo_1038(x):
    y = x * 1038 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1038')

total += tramo_1038(1038) % 11

def tramo_1039(x):
    y = x * 1039 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1039')

total += tramo_1039(1039) % 11

def tramo_1040(x):
    y = x * 1040 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1040')

total += tramo_1040(1040) % 11

def tramo_1041(x):
    y = x * 1041 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1041')

total += tramo_1041(1041) % 11

def tramo_1042(x):
    y = x * 1042 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1042')

total += tramo_1042(1042) % 11

def tramo_1043(x):
    y = x * 1043 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1043')

total += tramo_1043(1043) % 11

def tramo_1044(x):
    y = x * 1044 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1044')

total += tramo_1044(1044) % 11

def tramo_1045(x):
    y = x * 1045 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1045')

total += tramo_1045(1045) % 11

def tramo_1046(x):
    y = x * 1046 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1046')

total += tramo_1046(1046) % 11

def tramo_1047(x):
    y = x * 1047 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1047')

total += tramo_1047(1047) % 11

def tramo_1048(x):
    y = x * 1048 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1048')

total += tramo_1048(1048) % 11

def tramo_1049(x):
    y = x * 1049 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1049')

total += tramo_1049(1049) % 11

def tramo_1050(x):
    y = x * 1050 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1050')

total += tramo_1050(1050) % 11

def tramo_1051(x):
    y = x * 1051 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1051')

total += tramo_1051(1051) % 11

def tramo_1052(x):
    y = x * 1052 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1052')

total += tramo_1052(1052) % 11

def tramo_1053(x):
    y = x * 1053 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1053')

total += tramo_1053(1053) % 11

def tramo_1054(x):
    y = x * 1054 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1054')

total += tramo_1054(1054) % 11

def tramo_1055(x):
    y = x * 1055 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1055')

total += tramo_1055(1055) % 11

def tramo_1056(x):
    y = x * 1056 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1056')

total += tramo_1056(1056) % 11

def tramo_1057(x):
    y = x * 1057 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1057')

total += tramo_1057(1057) % 11

def tramo_1058(x):
    y = x * 1058 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1058')

total += tramo_1058(1058) % 11

def tramo_1059(x):
    y = x * 1059 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1059')

total += tramo_1059(1059) % 11

def tramo_1060(x):
    y = x * 1060 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1060')

total += tramo_1060(1060) % 11

def tramo_1061(x):
    y = x * 1061 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1061')

total += tramo_1061(1061) % 11

def tramo_1062(x):
    y = x * 1062 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1062')

total += tramo_1062(1062) % 11

def tramo_1063(x):
    y = x * 1063 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1063')

total += tramo_1063(1063) % 11

def tramo_1064(x):
    y = x * 1064 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1064')

total += tramo_1064(1064) % 11

def tramo_1065(x):
    y = x * 1065 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1065')

total += tramo_1065(1065) % 11

def tramo_1066(x):
    y = x * 1066 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1066')

total += tramo_1066(1066) % 11

def tramo_1067(x):
    y = x * 1067 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1067')

total += tramo_1067(1067) % 11

def tramo_1068(x):
    y = x * 1068 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1068')

total += tramo_1068(1068) % 11

def tramo_1069(x):
    y = x * 1069 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1069')

total += tramo_1069(1069) % 11

def tramo_1070(x):
    y = x * 1070 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1070')

total += tramo_1070(1070) % 11

def tramo_1071(x):
    y = x * 1071 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1071')

total += tramo_1071(1071) % 11

def tramo_1072(x):
    y = x * 1072 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1072')

total += tramo_1072(1072) % 11

def tramo_1073(x):
    y = x * 1073 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1073')

total += tramo_1073(1073) % 11

def tramo_1074(x):
    y = x * 1074 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1074')

total += tramo_1074(1074) % 11

def tramo_1075(x):
    y = x * 1075 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1075')

total += tramo_1075(1075) % 11

def tramo_1076(x):
    y = x * 1076 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1076')

total += tramo_1076(1076) % 11

def tramo_1077(x):
    y = x * 1077 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1077')

total += tramo_1077(1077) % 11

def tramo_1078(x):
    y = x * 1078 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1078')

total += tramo_1078(1078) % 11

def tramo_1079(x):
    y = x * 1079 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1079')

total += tramo_1079(1079) % 11

def tramo_1080(x):
    y = x * 1080 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1080')

total += tramo_1080(1080) % 11

def tramo_1081(x):
    y = x * 1081 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1081')

total += tramo_1081(1081) % 11

def tramo_1082(x):
    y = x * 1082 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1082')

total += tramo_1082(1082) % 11

def tramo_1083(x):
    y = x * 1083 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1083')

total += tramo_1083(1083) % 11

def tramo_1084(x):
    y = x * 1084 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1084')

total += tramo_1084(1084) % 11

def tramo_1085(x):
    y = x * 1085 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1085')

total += tramo_1085(1085) % 11

def tramo_1086(x):
    y = x * 1086 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1086')

total += tramo_1086(1086) % 11

def tramo_1087(x):
    y = x * 1087 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1087')

total += tramo_1087(1087) % 11

def tramo_1088(x):
    y = x * 1088 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1088')

total += tramo_1088(1088) % 11

def tramo_1089(x):
    y = x * 1089 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1089')

total += tramo_1089(1089) % 11

def tramo_1090(x):
    y = x * 1090 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1090')

total += tramo_1090(1090) % 11

def tramo_1091(x):
    y = x * 1091 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1091')

total += tramo_1091(1091) % 11

def tramo_1092(x):
    y = x * 1092 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1092')

total += tramo_1092(1092) % 11

def tramo_1093(x):
    y = x * 1093 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1093')

total += tramo_1093(1093) % 11

def tramo_1094(x):
    y = x * 1094 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1094')

total += tramo_1094(1094) % 11

def tramo_1095(x):
    y = x * 1095 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1095')

total += tramo_1095(1095) % 11

def tramo_1096(x):
    y = x * 1096 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1096')

total += tramo_1096(1096) % 11

def tramo_1097(x):
    y = x * 1097 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1097')

total += tramo_1097(1097) % 11

def tramo_1098(x):
    y = x * 1098 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1098')

total += tramo_1098(1098) % 11

def tramo_1099(x):
    y = x * 1099 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1099')

total += tramo_1099(1099) % 11

def tramo_1100(x):
    y = x * 1100 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1100')

total += tramo_1100(1100) % 11

def tramo_1101(x):
    y = x * 1101 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1101')

total += tramo_1101(1101) % 11

def tramo_1102(x):
    y = x * 1102 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1102')

total += tramo_1102(1102) % 11

def tramo_1103(x):
    y = x * 1103 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1103')

total += tramo_1103(1103) % 11

def tramo_1104(x):
    y = x * 1104 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1104')

total += tramo_1104(1104) % 11

def tramo_1105(x):
    y = x * 1105 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1105')

total += tramo_1105(1105) % 11

def tramo_1106(x):
    y = x * 1106 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1106')

total += tramo_1106(1106) % 11

def tramo_1107(x):
    y = x * 1107 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1107')

total += tramo_1107(1107) % 11

def tramo_1108(x):
    y = x * 1108 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1108')

total += tramo_1108(1108) % 11

def tramo_1109(x):
    y = x * 1109 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1109')

total += tramo_1109(1109) % 11

def tramo_1110(x):
    y = x * 1110 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1110')

total += tramo_1110(1110) % 11

def tramo_1111(x):
    y = x * 1111 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1111')

total += tramo_1111(1111) % 11

def tramo_1112(x):
    y = x * 1112 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1112')

total += tramo_1112(1112) % 11

def tramo_1113(x):
    y = x * 1113 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1113')

total += tramo_1113(1113) % 11

def tramo_1114(x):
    y = x * 1114 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1114')

total += tramo_1114(1114) % 11

def tramo_1115(x):
    y = x * 1115 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1115')

total += tramo_1115(1115) % 11

def tramo_1116(x):
    y = x * 1116 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1116')

total += tramo_1116(1116) % 11

def tramo_1117(x):
    y = x * 1117 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1117')

total += tramo_1117(1117) % 11

def tramo_1118(x):
    y = x * 1118 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1118')

total += tramo_1118(1118) % 11

def tramo_1119(x):
    y = x * 1119 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1119')

total += tramo_1119(1119) % 11

def tramo_1120(x):
    y = x * 1120 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1120')

total += tramo_1120(1120) % 11

def tramo_1121(x):
    y = x * 1121 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1121')

total += tramo_1121(1121) % 11

def tramo_1122(x):
    y = x * 1122 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1122')

total += tramo_1122(1122) % 11

def tramo_1123(x):
    y = x * 1123 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1123')

total += tramo_1123(1123) % 11

def tramo_1124(x):
    y = x * 1124 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1124')

total += tramo_1124(1124) % 11

def tramo_1125(x):
    y = x * 1125 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1125')

total += tramo_1125(1125) % 11

def tramo_1126(x):
    y = x * 1126 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1126')

total += tramo_1126(1126) % 11

def tramo_1127(x):
    y = x * 1127 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1127')

total += tramo_1127(1127) % 11

def tramo_1128(x):
    y = x * 1128 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1128')

total += tramo_1128(1128) % 11

def tramo_1129(x):
    y = x * 1129 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1129')

total += tramo_1129(1129) % 11

def tramo_1130(x):
    y = x * 1130 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1130')

total += tramo_1130(1130) % 11

def tramo_1131(x):
    y = x * 1131 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1131')

total += tramo_1131(1131) % 11

def tramo_1132(x):
    y = x * 1132 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1132')

total += tramo_1132(1132) % 11

def tramo_1133(x):
    y = x * 1133 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1133')

total += tramo_1133(1133) % 11

def tramo_1134(x):
    y = x * 1134 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1134')

total += tramo_1134(1134) % 11

def tramo_1135(x):
    y = x * 1135 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1135')

total += tramo_1135(1135) % 11

def tramo_1136(x):
    y = x * 1136 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1136')

total += tramo_1136(1136) % 11

def tramo_1137(x):
    y = x * 1137 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1137')

total += tramo_1137(1137) % 11

def tramo_1138(x):
    y = x * 1138 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1138')

total += tramo_1138(1138) % 11

def tramo_1139(x):
    y = x * 1139 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1139')

total += tramo_1139(1139) % 11

def tramo_1140(x):
    y = x * 1140 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1140')

total += tramo_1140(1140) % 11

def tramo_1141(x):
    y = x * 1141 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1141')

total += tramo_1141(1141) % 11

def tramo_1142(x):
    y = x * 1142 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1142')

total += tramo_1142(1142) % 11

def tramo_1143(x):
    y = x * 1143 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1143')

total += tramo_1143(1143) % 11

def tramo_1144(x):
    y = x * 1144 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1144')

total += tramo_1144(1144) % 11

def tramo_1145(x):
    y = x * 1145 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1145')

total += tramo_1145(1145) % 11

def tramo_1146(x):
    y = x * 1146 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1146')

total += tramo_1146(1146) % 11

def tramo_1147(x):
    y = x * 1147 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1147')

total += tramo_1147(1147) % 11

def tramo_1148(x):
    y = x * 1148 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1148')

total += tramo_1148(1148) % 11

def tramo_1149(x):
    y = x * 1149 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1149')

total += tramo_1149(1149) % 11

def tramo_1150(x):
    y = x * 1150 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1150')

total += tramo_1150(1150) % 11

def tramo_1151(x):
    y = x * 1151 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1151')

total += tramo_1151(1151) % 11

def tramo_1152(x):
    y = x * 1152 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1152')

total += tramo_1152(1152) % 11

def tramo_1153(x):
    y = x * 1153 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1153')

total += tramo_1153(1153) % 11

def tramo_1154(x):
    y = x * 1154 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1154')

total += tramo_1154(1154) % 11

def tramo_1155(x):
    y = x * 1155 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1155')

total += tramo_1155(1155) % 11

def tramo_1156(x):
    y = x * 1156 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1156')

total += tramo_1156(1156) % 11

def tramo_1157(x):
    y = x * 1157 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1157')

total += tramo_1157(1157) % 11

def tramo_1158(x):
    y = x * 1158 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1158')

total += tramo_1158(1158) % 11

def tramo_1159(x):
    y = x * 1159 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1159')

total += tramo_1159(1159) % 11

def tramo_1160(x):
    y = x * 1160 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1160')

total += tramo_1160(1160) % 11

def tramo_1161(x):
    y = x * 1161 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1161')

total += tramo_1161(1161) % 11

def tramo_1162(x):
    y = x * 1162 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1162')

total += tramo_1162(1162) % 11

def tramo_1163(x):
    y = x * 1163 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1163')

total += tramo_1163(1163) % 11

def tramo_1164(x):
    y = x * 1164 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1164')

total += tramo_1164(1164) % 11

def tramo_1165(x):
    y = x * 1165 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1165')

total += tramo_1165(1165) % 11

def tramo_1166(x):
    y = x * 1166 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1166')

total += tramo_1166(1166) % 11

def tramo_1167(x):
    y = x * 1167 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1167')

total += tramo_1167(1167) % 11

def tramo_1168(x):
    y = x * 1168 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1168')

total += tramo_1168(1168) % 11

def tramo_1169(x):
    y = x * 1169 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1169')

total += tramo_1169(1169) % 11

def tramo_1170(x):
    y = x * 1170 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1170')

total += tramo_1170(1170) % 11

def tramo_1171(x):
    y = x * 1171 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1171')

total += tramo_1171(1171) % 11

def tramo_1172(x):
    y = x * 1172 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1172')

total += tramo_1172(1172) % 11

def tramo_1173(x):
    y = x * 1173 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1173')

total += tramo_1173(1173) % 11

def tramo_1174(x):
    y = x * 1174 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1174')

total += tramo_1174(1174) % 11

def tramo_1175(x):
    y = x * 1175 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1175')

total += tramo_1175(1175) % 11

def tramo_1176(x):
    y = x * 1176 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1176')

total += tramo_1176(1176) % 11

def tramo_1177(x):
    y = x * 1177 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1177')

total += tramo_1177(1177) % 11

def tramo_1178(x):
    y = x * 1178 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1178')

total += tramo_1178(1178) % 11

def tramo_1179(x):
    y = x * 1179 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1179')

total += tramo_1179(1179) % 11

def tramo_1180(x):
    y = x * 1180 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1180')

total += tramo_1180(1180) % 11

def tramo_1181(x):
    y = x * 1181 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1181')

total += tramo_1181(1181) % 11

def tramo_1182(x):
    y = x * 1182 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1182')

total += tramo_1182(1182) % 11

def tramo_1183(x):
    y = x * 1183 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1183')

total += tramo_1183(1183) % 11

def tramo_1184(x):
    y = x * 1184 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1184')

total += tramo_1184(1184) % 11

def tramo_1185(x):
    y = x * 1185 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1185')

total += tramo_1185(1185) % 11

def tramo_1186(x):
    y = x * 1186 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1186')

total += tramo_1186(1186) % 11

def tramo_1187(x):
    y = x * 1187 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1187')

total += tramo_1187(1187) % 11

def tramo_1188(x):
    y = x * 1188 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1188')

total += tramo_1188(1188) % 11

def tramo_1189(x):
    y = x * 1189 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1189')

total += tramo_1189(1189) % 11

def tramo_1190(x):
    y = x * 1190 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1190')

total += tramo_1190(1190) % 11

def tramo_1191(x):
    y = x * 1191 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1191')

total += tramo_1191(1191) % 11

def tramo_1192(x):
    y = x * 1192 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1192')

total += tramo_1192(1192) % 11

def tramo_1193(x):
    y = x * 1193 + 3
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1193')

total += tramo_1193(1193) % 11

def tramo_1194(x):
    y = x * 1194 + 4
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1194')

total += tramo_1194(1194) % 11

def tramo_1195(x):
    y = x * 1195 + 5
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1195')

total += tramo_1195(1195) % 11

def tramo_1196(x):
    y = x * 1196 + 6
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1196')

total += tramo_1196(1196) % 11

def tramo_1197(x):
    y = x * 1197 + 0
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1197')

total += tramo_1197(1197) % 11

def tramo_1198(x):
    y = x * 1198 + 1
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1198')

total += tramo_1198(1198) % 11

def tramo_1199(x):
    y = x * 1199 + 2
    if y % 3 == 0:
        return y // 3
    return y + len('tramo 1199')

total += tramo_1199(1199) % 11

print("Content-Type: text/plain; charset=utf-8")
print()
print("total", total, os.environ.get("QUERY_STRING", ""))
